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

__all__ = ["CheckpointError", "load_checkpoint", "save_checkpoint"]

_META = "__meta__"


class CheckpointError(ValueError):
    """A checkpoint file that is missing, damaged, or does not fit the model it is loaded into."""


def _flat(tree: Any) -> dict[str, np.ndarray]:
    leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
    return {jax.tree_util.keystr(path): np.asarray(leaf) for path, leaf in leaves}


def save_checkpoint(path: str | os.PathLike[str], state: Any, metadata: dict[str, Any] | None = None) -> Path:
    """Write a pytree of arrays (an ``nnx.State``, optimiser state, ...) and JSON metadata to ``path`` atomically.

    Readers see the previous checkpoint or the whole new one, never a partial file.

    Args:
        path: target file (``.npz``).
        state: pytree whose leaves are arrays.
        metadata: JSON-serialisable facts to keep beside the arrays (epoch, losses, configuration).

    Returns:
        The path written.
    """
    arrays = _flat(state)
    arrays[_META] = np.asarray(json.dumps(metadata or {}))
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=False, **arrays)
    return atomic_write_bytes(path, buffer.getvalue())


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
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        # Read the bytes first: np.load leaves its file open when the archive is damaged.
        with np.load(io.BytesIO(path.read_bytes()), allow_pickle=False) as data:
            stored = {k: data[k] for k in data.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as err:
        raise CheckpointError(f"checkpoint {path} is damaged or not an .npz written by save_checkpoint: {err}") from err
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
