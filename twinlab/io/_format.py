"""The twinlab file: one safetensors file whose metadata holds the JSON spec; written atomically."""

from __future__ import annotations

import json
import math
import os
import struct
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

from twinlab._atomic import atomic_write_bytes
from twinlab.io._registry import codec_for, codec_named

__all__ = ["FORMAT", "FORMAT_VERSION", "FormatError", "dumps", "load", "loads", "save"]

FORMAT = "twinlab"
FORMAT_VERSION = 1
_MAX_HEADER = 100 * 1024 * 1024

_NOT_TWINLAB = (
    "{what} is not a twinlab file ({why}). twinlab files are safetensors files written by twinlab.io.save; "
    "nothing in this one was run. Fix: check the path, or re-save the object with twinlab.io.save."
)


class FormatError(ValueError):
    """A file that is not a (complete, known) twinlab file."""


def _encode(obj: Any, arrays: dict[str, np.ndarray]) -> Any:
    codec = codec_for(obj)
    if codec is not None:
        return {"__type__": codec.name, "__version__": codec.version, "data": _encode(codec.to_data(obj), arrays)}
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, int | np.integer) and not isinstance(obj, np.bool_):
        return int(obj)
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else {"__float__": repr(obj)}
    if isinstance(obj, dict):
        if not all(isinstance(k, str) for k in obj):
            raise TypeError("only dicts with string keys can be saved; convert the keys to strings.")
        return {"__dict__": {k: _encode(v, arrays) for k, v in obj.items()}}
    if isinstance(obj, list | tuple):
        return {"__list__" if isinstance(obj, list) else "__tuple__": [_encode(v, arrays) for v in obj]}
    if hasattr(obj, "__array__") or isinstance(obj, np.generic):
        key = f"a{len(arrays)}"
        array = np.asarray(obj)
        arrays[key] = np.ascontiguousarray(array.reshape(-1) if array.ndim == 0 else array)
        return {"__array__": key, "shape": list(array.shape)}  # safetensors keeps 0-d arrays as shape (1,)
    raise TypeError(
        f"cannot save a {type(obj).__qualname__}: register it with twinlab.io.register (or register_dataclass)."
    )


def _decode(node: Any, arrays: dict[str, np.ndarray]) -> Any:
    if node is None or isinstance(node, bool | int | float | str):
        return node
    if not isinstance(node, dict) or len(node) not in (1, 2, 3):
        raise FormatError(f"the spec holds an unexpected node {str(node)[:80]!r}; the file is damaged.")
    if "__type__" in node:
        codec = codec_named(str(node["__type__"]))
        version = int(node["__version__"])
        if version > codec.version:
            raise FormatError(
                f"{codec.name} was saved with layout version {version}; this twinlab reads up to {codec.version}. "
                f"Fix: upgrade twinlab."
            )
        return codec.from_data(_decode(node["data"], arrays), version)
    if "__array__" in node:
        key, shape = node["__array__"], tuple(node.get("shape", ()))
        if key not in arrays or int(np.prod(shape)) != arrays[key].size:
            raise FormatError(f"the spec names array {key!r}, which the file does not hold as such; it is damaged.")
        return arrays[key].reshape(shape)
    ((tag, value),) = node.items()
    if tag == "__float__":
        return float(value)
    if tag == "__dict__":
        return {k: _decode(v, arrays) for k, v in value.items()}
    if tag in ("__list__", "__tuple__"):
        items = [_decode(v, arrays) for v in value]
        return items if tag == "__list__" else tuple(items)
    raise FormatError(f"the spec holds an unknown tag {tag!r}; the file is damaged or from a newer twinlab.")


def dumps(obj: Any) -> bytes:
    """``obj`` as the bytes of a twinlab file (see `save`)."""
    arrays: dict[str, np.ndarray] = {}
    spec = _encode(obj, arrays)
    metadata = {"format": FORMAT, "format_version": str(FORMAT_VERSION), "spec": json.dumps(spec, allow_nan=False)}
    return st_save(arrays, metadata=metadata)


def loads(data: bytes, what: str = "the data") -> Any:
    """The object held by the bytes of a twinlab file. Never runs code from the file: it is parsed, not executed."""
    header = _header(data, what)
    meta = header.get("__metadata__") or {}
    if meta.get("format") != FORMAT:
        raise FormatError(_NOT_TWINLAB.format(what=what, why="a safetensors file without twinlab's metadata"))
    try:
        version = int(meta.get("format_version", ""))
    except ValueError as err:
        raise FormatError(f"{what}: its format_version {meta.get('format_version')!r} is not a number.") from err
    if version > FORMAT_VERSION:
        raise FormatError(
            f"{what} has twinlab format version {version}; this twinlab reads up to {FORMAT_VERSION}. Fix: upgrade."
        )
    try:
        arrays = st_load(data)
        spec = json.loads(meta["spec"])
    except Exception as err:  # safetensors raises its own error types for damaged payloads
        raise FormatError(_NOT_TWINLAB.format(what=what, why=f"damaged: {err}")) from err
    return _decode(spec, arrays)


def _header(data: bytes, what: str) -> dict[str, Any]:
    if len(data) < 8:
        raise FormatError(_NOT_TWINLAB.format(what=what, why=f"only {len(data)} bytes"))
    (n,) = struct.unpack("<Q", data[:8])
    if n > min(len(data) - 8, _MAX_HEADER):
        raise FormatError(_NOT_TWINLAB.format(what=what, why="its first 8 bytes are not a safetensors header length"))
    try:
        header = json.loads(data[8 : 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise FormatError(_NOT_TWINLAB.format(what=what, why="its header is not JSON")) from err
    if not isinstance(header, dict):
        raise FormatError(_NOT_TWINLAB.format(what=what, why="its header is not a JSON object"))
    return header


def save(obj: Any, path: str | os.PathLike[str]) -> Path:
    """Save ``obj`` to ``path`` atomically: readers see the previous file or the whole new one, never a part.

    ``obj`` is a tree of dicts (string keys), lists, tuples, numbers, strings, None, arrays (NumPy or JAX; loaded
    back as NumPy) and registered types. Returns the path.
    """
    return atomic_write_bytes(path, dumps(obj))


def load(path: str | os.PathLike[str]) -> Any:
    """Load what `save` wrote. A damaged or foreign file raises `FormatError`; nothing in it is executed."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no twinlab file at {p}")
    return loads(p.read_bytes(), what=str(p))
