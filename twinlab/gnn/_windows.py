"""Time windows over a multivariate series on a graph, gathered in batches inside jit, and batch sharding.

A `Windows` holds the whole series once plus the start index of every window, so a batch of B windows is gathered on
the device (no (W, T_in, N, F) copy of overlapping windows is ever built).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jax.sharding import Mesh, NamedSharding, PartitionSpec

__all__ = ["BATCH_AXIS", "Batch", "Windows", "batch_mesh", "make_windows", "shard_batch", "take_batch"]

BATCH_AXIS = "batch"


class Batch(struct.PyTreeNode):
    """A batch of windows.

    Attributes:
        inputs: (..., B, T_in, N, F) past features.
        targets: (..., B, H, N) future values of the target.
        weights: (..., B, H, N) 1 where the target was observed, 0 where it is missing (left out of the loss).
    """

    inputs: jax.Array
    targets: jax.Array
    weights: jax.Array


class Windows(struct.PyTreeNode):
    """Windows over one series: T_in steps of features in, the next H steps of the target out.

    Attributes:
        features: (T, N, F) per-step node features (already normalised).
        target: (T, N) the quantity to forecast (already normalised).
        observed: (T, N) 1 where the target is a real reading, 0 where it is missing.
        starts: (W,) int32 first step of each window's input.
        input_steps: T_in (static).
        horizon_steps: H (static).
    """

    features: jax.Array
    target: jax.Array
    observed: jax.Array
    starts: jax.Array
    input_steps: int = struct.field(pytree_node=False)
    horizon_steps: int = struct.field(pytree_node=False)

    @property
    def count(self) -> int:
        """W, the number of windows."""
        return int(self.starts.shape[0])


def make_windows(
    features: Any,
    target: Any,
    input_steps: int,
    horizon_steps: int,
    *,
    observed: Any | None = None,
    stride: int = 1,
    dtype: Any = jnp.float32,
) -> Windows:
    """Every window of ``input_steps`` in and ``horizon_steps`` out that fits inside the series.

    Args:
        features: (T, N, F) features per step and node.
        target: (T, N) target per step and node.
        input_steps: T_in >= 1.
        horizon_steps: H >= 1.
        observed: (T, N) 0/1 observed flags for the target (default: all observed).
        stride: steps between the starts of consecutive windows.
        dtype: float dtype of the stored arrays.

    Raises:
        ValueError: shapes that disagree, non-finite values, or a series shorter than one window.

    Example:
        >>> import numpy as np
        >>> w = make_windows(np.zeros((20, 3, 1)), np.zeros((20, 3)), 12, 3)
        >>> w.count
        6
    """
    f = np.asarray(features)
    y = np.asarray(target)
    if f.ndim != 3 or y.shape != f.shape[:2]:
        raise ValueError(f"features must be (T, N, F) and target (T, N) with the same T, N; got {f.shape}, {y.shape}")
    if not (np.all(np.isfinite(f)) and np.all(np.isfinite(y))):
        raise ValueError(
            "features or target hold NaN/inf. Fix: fill missing readings (e.g. with 0 after normalising) and pass "
            "observed=0 for them, so the loss and the model's observed-flag feature know they are missing."
        )
    if input_steps < 1 or horizon_steps < 1 or stride < 1:
        raise ValueError(f"input_steps, horizon_steps and stride must be >= 1; got {input_steps}, {horizon_steps}")
    span = input_steps + horizon_steps
    if f.shape[0] < span:
        raise ValueError(
            f"a window needs {input_steps} input + {horizon_steps} horizon = {span} steps but the series has "
            f"{f.shape[0]}. Fix: shorten the horizon or the input, or use a longer series."
        )
    obs = np.ones(y.shape) if observed is None else np.asarray(observed)
    if obs.shape != y.shape:
        raise ValueError(f"observed must have the target's shape {y.shape}; got {obs.shape}")
    return Windows(
        features=jnp.asarray(f, dtype),
        target=jnp.asarray(y, dtype),
        observed=jnp.asarray(obs, dtype),
        starts=jnp.arange(0, f.shape[0] - span + 1, stride, dtype=jnp.int32),
        input_steps=input_steps,
        horizon_steps=horizon_steps,
    )


def take_batch(windows: Windows, index: jax.Array) -> Batch:
    """Gather the windows ``index`` (any shape S) into a `Batch` of shape (*S, ...); jittable."""
    t_in, h = windows.input_steps, windows.horizon_steps

    def one(start: jax.Array) -> Batch:
        x = jax.lax.dynamic_slice_in_dim(windows.features, start, t_in, axis=0)
        y = jax.lax.dynamic_slice_in_dim(windows.target, start + t_in, h, axis=0)
        w = jax.lax.dynamic_slice_in_dim(windows.observed, start + t_in, h, axis=0)
        return Batch(x, y, w)

    starts = windows.starts[index]
    flat = jax.vmap(one)(starts.reshape(-1))
    return jax.tree.map(lambda a: a.reshape(*starts.shape, *a.shape[1:]), flat)


def batch_mesh(devices: list[Any] | None = None) -> Mesh:
    """A one-axis device mesh named ``"batch"`` over ``devices`` (default: all local devices)."""
    devices = jax.devices() if devices is None else devices
    return Mesh(np.asarray(devices), (BATCH_AXIS,))


def shard_batch(batch: Batch, mesh: Mesh, *, batch_axis: int = 0) -> Batch:
    """Place a batch on ``mesh`` split along its window axis ``batch_axis`` (whose size must divide evenly).

    Jitted training steps on the result run each device's windows on that device and reduce the gradients across
    devices; the numbers match the unsharded step up to floating-point summation order.
    """
    size = batch.inputs.shape[batch_axis]
    n_dev = mesh.devices.size
    if size % n_dev:
        raise ValueError(
            f"a batch of {size} windows cannot be split evenly over {n_dev} devices. Fix: a batch size that is a "
            f"multiple of {n_dev}."
        )
    spec = PartitionSpec(*([None] * batch_axis), BATCH_AXIS)
    return jax.device_put(batch, NamedSharding(mesh, spec))
