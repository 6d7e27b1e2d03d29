"""The type registry: how each saveable type turns into plain data and back."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Codec", "codec_for", "codec_named", "register", "register_dataclass"]


@dataclass(frozen=True)
class Codec:
    """How one type is saved.

    Attributes:
        cls: the type.
        name: its stable name in files (never a Python import path: loading never imports by a name in a file).
        version: the version of this type's data layout; a file with a newer one is refused.
        to_data: object -> a tree of dicts, lists, tuples, scalars, strings, None and arrays.
        from_data: (that tree, the version it was written with) -> object.
    """

    cls: type
    name: str
    version: int
    to_data: Callable[[Any], Any]
    from_data: Callable[[Any, int], Any]


_BY_TYPE: dict[type, Codec] = {}
_BY_NAME: dict[str, Codec] = {}


def register(
    cls: type, name: str, *, to_data: Callable[[Any], Any], from_data: Callable[[Any, int], Any], version: int = 1
) -> None:
    """Register how ``cls`` saves and loads under the stable ``name`` (re-registering the same pair replaces it)."""
    known = _BY_NAME.get(name)
    if known is not None and known.cls is not cls:
        raise ValueError(f"the name {name!r} is already registered for {known.cls.__qualname__}; choose another.")
    codec = Codec(cls, name, int(version), to_data, from_data)
    _BY_TYPE[cls] = codec
    _BY_NAME[name] = codec


def register_dataclass(cls: type, name: str, *, version: int = 1) -> None:
    """Register a dataclass (or flax struct) by its ``__init__`` fields: saved as a dict, loaded by ``cls(**dict)``."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls.__qualname__} is not a dataclass; use register() with explicit to_data/from_data.")
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    register(
        cls,
        name,
        to_data=lambda obj: {n: getattr(obj, n) for n in names},
        from_data=lambda data, _version: cls(**data),
        version=version,
    )


def codec_for(obj: Any) -> Codec | None:
    """The codec registered for ``type(obj)`` (exact type), or None."""
    return _BY_TYPE.get(type(obj))


def codec_named(name: str) -> Codec:
    """The codec registered under ``name``; a KeyError naming the known ones otherwise."""
    if name not in _BY_NAME:
        raise KeyError(f"no saveable type named {name!r} is registered; known: {', '.join(sorted(_BY_NAME))}")
    return _BY_NAME[name]
