"""A speed forecaster with intervals: a deep ensemble of graph GRUs, calibrated on the validation windows.

Each member predicts the normalised speed; the forecast is the members' mean, and its variance is the members'
spread plus a per-horizon noise variance estimated on the validation windows (the part of the error the ensemble
does not see). Intervals are Gaussian in mph: ``mean ± z(level) * std``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from statistics import NormalDist
from typing import Any

import jax
import jax.numpy as jnp
import jraph
import numpy as np
from flax import nnx, struct
from jax.sharding import Mesh

from twinlab.gnn import EpochReport, SpatioTemporalForecaster, TrainConfig, TrainResult, Windows, take_batch, train
from twinlab.gnn import ensemble_apply as _ensemble_apply
from twinlab.traffic._prepare import N_FEATURES, Prepared

__all__ = ["Forecast", "TrafficForecaster", "fit_forecaster"]


class Forecast(struct.PyTreeNode):
    """Forecast speeds for B windows, H steps ahead, N sensors.

    Attributes:
        mean_mph: (B, H, N) ensemble mean, mph.
        std_mph: (B, H, N) predictive standard deviation (member spread + calibrated noise), mph.
        members_mph: (E, B, H, N) each member's forecast, mph.
    """

    mean_mph: jax.Array
    std_mph: jax.Array
    members_mph: jax.Array

    def interval(self, level: float = 0.9) -> tuple[jax.Array, jax.Array]:
        """``(lower, upper)`` bounds, mph, of the central ``level`` interval."""
        if not 0.0 < level < 1.0:
            raise ValueError(f"level must lie in (0, 1); got {level}")
        z = NormalDist().inv_cdf(0.5 + level / 2)
        return self.mean_mph - z * self.std_mph, self.mean_mph + z * self.std_mph


@partial(jax.jit, static_argnums=0)
def _members(graphdef: Any, states: Any, inputs: jax.Array, graph: jraph.GraphsTuple) -> jax.Array:
    return _ensemble_apply(graphdef, states, inputs, graph)


@dataclass(frozen=True)
class TrafficForecaster:
    """A trained ensemble and what it needs to speak mph.

    Attributes:
        graphdef: model structure.
        states: members' states (leading axis E).
        graph: the sensor graph it was trained on.
        mean_mph: normalisation mean.
        std_mph: normalisation standard deviation.
        noise_var: (H,) calibrated noise variance per horizon step, in normalised units squared.
    """

    graphdef: Any
    states: Any
    graph: jraph.GraphsTuple
    mean_mph: float
    std_mph: float
    noise_var: np.ndarray

    @property
    def members(self) -> int:
        """E, the ensemble size."""
        return int(jax.tree.leaves(self.states)[0].shape[0])

    def members_z(self, inputs: jax.Array, graph: jraph.GraphsTuple | None = None) -> jax.Array:
        """(B, T_in, N, F) normalised inputs -> (E, B, H, N) normalised member forecasts."""
        return _members(self.graphdef, self.states, inputs, self.graph if graph is None else graph)

    def predict(self, inputs: jax.Array, graph: jraph.GraphsTuple | None = None) -> Forecast:
        """Forecast from (B, T_in, N, F) inputs, optionally on a changed graph (a what-if)."""
        return self.from_members(self.members_z(inputs, graph))

    def from_members(self, z: jax.Array) -> Forecast:
        """A `Forecast` from (E, B, H, N) normalised member forecasts."""
        var = jnp.var(z, axis=0) + jnp.asarray(self.noise_var, z.dtype)[None, :, None]
        return Forecast(
            mean_mph=jnp.mean(z, axis=0) * self.std_mph + self.mean_mph,
            std_mph=jnp.sqrt(var) * self.std_mph,
            members_mph=z * self.std_mph + self.mean_mph,
        )

    def predict_windows(self, windows: Windows, batch_size: int = 64) -> Forecast:
        """Forecasts for every window of ``windows`` (in order), batched."""
        parts = []
        for start in range(0, windows.count, batch_size):
            idx = jnp.arange(start, min(start + batch_size, windows.count))
            parts.append(self.members_z(take_batch(windows, idx).inputs))
        return self.from_members(jnp.concatenate(parts, axis=1))


def _calibrate(model: TrafficForecaster, windows: Windows) -> np.ndarray:
    """(H,) noise variance: validation mean squared error of the ensemble mean minus the mean member variance."""
    parts = []
    for start in range(0, windows.count, 64):
        idx = jnp.arange(start, min(start + 64, windows.count))
        parts.append(np.asarray(model.members_z(take_batch(windows, idx).inputs)))
    z = np.concatenate(parts, axis=1)  # (E, W, H, N)
    truth = np.asarray(take_batch(windows, jnp.arange(windows.count)).targets)
    mse = np.mean((z.mean(axis=0) - truth) ** 2, axis=(0, 2))
    spread = np.mean(z.var(axis=0), axis=(0, 2))
    return np.maximum(mse - spread, 0.0)


def fit_forecaster(
    prep: Prepared,
    config: TrainConfig,
    *,
    hidden: int = 32,
    layer: str = "gcn",
    progress: Callable[[EpochReport], None] | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    mesh: Mesh | None = None,
) -> tuple[TrafficForecaster, TrainResult]:
    """Train an ensemble of ``config.members`` graph GRUs on ``prep`` and calibrate its intervals.

    Args:
        prep: prepared data (`prepare`).
        config: training configuration (members, epochs, ...).
        hidden: state size per sensor.
        layer: ``"gcn"``, ``"gat"``, ``"mpnn"``, or ``"none"`` for a per-sensor GRU without the graph.
        progress: per-epoch callback.
        checkpoint: optional path for the best states so far (atomic ``.npz``).
        mesh: optional device mesh to shard each batch over.

    Returns:
        ``(forecaster, train_result)``.
    """
    h = prep.protocol.horizon_steps
    dtype = prep.train.features.dtype

    def make(rngs: nnx.Rngs) -> SpatioTemporalForecaster:
        return SpatioTemporalForecaster(N_FEATURES, hidden, h, layer=layer, rngs=rngs, dtype=dtype)

    result = train(make, prep.graph, prep.train, prep.val, config, progress=progress, checkpoint=checkpoint, mesh=mesh)
    model = TrafficForecaster(result.graphdef, result.states, prep.graph, prep.mean_mph, prep.std_mph, np.zeros(h))
    return replace(model, noise_var=_calibrate(model, prep.val)), result
