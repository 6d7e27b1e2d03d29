"""Spreading a population over devices: padding to a multiple of the device count, and a named sharding."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from twinlab.sim._model import population_size

PyTree = Any
POPULATION_AXIS = "population"


def population_mesh(devices: list[Any] | None = None) -> Mesh:
    """A one-axis device mesh named ``"population"`` over ``devices`` (default: all local devices)."""
    devices = jax.devices() if devices is None else devices
    return Mesh(np.asarray(devices), (POPULATION_AXIS,))


def pad_population(params: PyTree, multiple: int) -> tuple[PyTree, jax.Array]:
    """Pad a population pytree along its leading axis to a multiple of ``multiple``.

    Padding repeats the last individual (so padded rows simulate something valid and stay finite).

    Returns:
        ``(padded, mask)``: the padded pytree, and a boolean mask of shape (P_padded,) true for real individuals.
    """
    n = population_size(params)
    if n is None:
        raise ValueError(
            "pad_population needs a population (leading axis); got one individual. "
            "Fix: stack individuals first (twinlab.sim.stack)."
        )
    pad = (-n) % multiple
    padded = jax.tree_util.tree_map(
        lambda v: jnp.concatenate([v, jnp.repeat(v[-1:], pad, axis=0)]) if pad else v, params
    )
    mask = jnp.arange(n + pad) < n
    return padded, mask


def shard_population(params: PyTree, mesh: Mesh | None = None) -> PyTree:
    """Place a population pytree on ``mesh`` split along its leading axis.

    The population size must be a multiple of the number of devices (see `pad_population`). Jitted functions of the
    result (``simulate`` included) then run each device's slice on that device.
    """
    mesh = population_mesh() if mesh is None else mesh
    n = population_size(params)
    n_dev = mesh.devices.size
    if n is None or n % n_dev:
        raise ValueError(
            f"shard_population needs a population whose size is a multiple of the {n_dev} devices; got {n}. "
            f"Fix: params, mask = twinlab.sim.pad_population(params, {n_dev}) and drop padded rows with the mask."
        )
    sharding = NamedSharding(mesh, PartitionSpec(POPULATION_AXIS))
    return jax.device_put(params, sharding)
