"""Checkpoints of model states as ``.npz``: written atomically, read without pickle, checked against a template."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import jax
import numpy as np

from twinlab._atomic import atomic_write_bytes

__all__ = ["CheckpointError", "checkpoint_arrays", "load_checkpoint", "save_checkpoint"]

_META = "__meta__"
_ARRAY = "__array__:"  # prefix of the named arrays kept beside the state


class CheckpointError(ValueError):
    """A checkpoint file that is missing, damaged, or does not fit the model it is loaded into."""


def _flat(tree: Any) -> dict[str, np.ndarray]:
    leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
    return {jax.tree_util.keystr(path): np.asarray(leaf) for path, leaf in leaves}


def save_checkpoint(
    path: str | os.PathLike[str],
    state: Any,
    metadata: dict[str, Any] | None = None,
    *,
    arrays: dict[str, Any] | None = None,
) -> Path:
    """Write a pytree of arrays (an ``nnx.State``, optimiser state, ...) and JSON metadata to ``path`` atomically.

    Readers see the previous checkpoint or the whole new one, never a partial file.

    Args:
        path: target file (``.npz``).
        state: pytree whose leaves are arrays.
        metadata: JSON-serialisable facts to keep beside the arrays (epoch, losses, configuration).
        arrays: named arrays that belong with the state but are not part of it (a normalisation table, ...); read
            back by `checkpoint_arrays`, ignored by `load_checkpoint`.

    Returns:
        The path written.
    """
    stored = _flat(state)
    stored[_META] = np.asarray(json.dumps(metadata or {}))
    for name, value in (arrays or {}).items():
        stored[_ARRAY + name] = np.asarray(value)
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=False, **stored)
    return atomic_write_bytes(path, buffer.getvalue())


def _read(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        # Read the bytes first: np.load leaves its file open when the archive is damaged.
        with np.load(io.BytesIO(path.read_bytes()), allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as err:
        raise CheckpointError(f"checkpoint {path} is damaged or not an .npz written by save_checkpoint: {err}") from err


def checkpoint_arrays(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """The named arrays saved beside the state (``save_checkpoint(..., arrays=...)``); empty if there are none.

    Raises:
        CheckpointError: a missing or damaged file.
    """
    return {k[len(_ARRAY) :]: v for k, v in _read(Path(path)).items() if k.startswith(_ARRAY)}


def load_checkpoint(path: str | os.PathLike[str], template: Any) -> tuple[Any, dict[str, Any]]:
    """Read a checkpoint into the structure of ``template`` (for example ``nnx.split(model)[1]``).

    Args:
        path: a file written by `save_checkpoint`.
        template: a pytree with the expected structure, shapes and dtypes.

    Returns:
        ``(state, metadata)``.

    Raises:
        CheckpointError: missing or damaged file, or arrays that do not match the template (names what differs).
    """
    path = Path(path)
    stored = {k: v for k, v in _read(path).items() if not k.startswith(_ARRAY)}
    meta = json.loads(str(stored.pop(_META, np.asarray("{}"))))
    expected = _flat(template)
    if set(stored) != set(expected):
        missing, extra = sorted(set(expected) - set(stored)), sorted(set(stored) - set(expected))
        raise CheckpointError(
            f"checkpoint {path} does not fit this model: missing {missing[:3]}, unexpected {extra[:3]}. "
            "Fix: build the model with the same configuration it was saved with."
        )
    for key, want in expected.items():
        got = stored[key]
        if got.shape != want.shape or got.dtype != want.dtype:
            raise CheckpointError(
                f"checkpoint {path}: {key} is {got.shape} {got.dtype}, the model expects {want.shape} {want.dtype}"
            )
    leaves, treedef = jax.tree_util.tree_flatten_with_path(template)
    values = [stored[jax.tree_util.keystr(p)] for p, _ in leaves]
    return jax.tree_util.tree_unflatten(treedef, values), meta
