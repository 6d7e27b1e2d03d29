"""A speed forecaster with intervals: a deep ensemble of graph GRUs, calibrated on the validation windows.

Each member predicts the normalised speed; the forecast is the members' mean, and its variance is the members'
spread plus a per-horizon noise variance estimated on the validation windows (the part of the error the ensemble
does not see). Intervals are ``mean ± q_h(level) * std`` in mph, where ``q_h(level)`` is the ``level`` quantile of the
standardised absolute errors ``|truth - mean| / std`` on the validation windows at horizon step h (a split-conformal
scale: road speeds have heavy-tailed errors, so Gaussian multipliers are too wide at 80 % and too narrow at 95 %).
Without that table (``interval_scale=None``) the multipliers are Gaussian. The validation windows also chose the
early-stopping epoch, so the calibration is empirical, not a finite-sample guarantee; the benchmark measures coverage
on the test part.
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

from twinlab.gnn import (
    CheckpointError,
    EpochReport,
    SpatioTemporalForecaster,
    TrainConfig,
    TrainResult,
    Windows,
    checkpoint_arrays,
    init_ensemble,
    load_checkpoint,
    take_batch,
    train,
)
from twinlab.gnn import ensemble_apply as _ensemble_apply
from twinlab.traffic._prepare import N_FEATURES, Prepared

__all__ = ["INTERVAL_LEVELS", "Forecast", "TrafficForecaster", "fit_forecaster", "load_forecaster"]

HA_TABLE = "ha_table_mph"
"""Name of the historical-average table among a checkpoint's arrays (`twinlab.gnn.checkpoint_arrays`)."""

MSG_HA_MISMATCH = (
    "checkpoint {path} was saved {saved} the historical-average feature, but the prepared data are the other way. "
    "Fix: prepare the data as the model was trained (`prepare(data, ha_feature=...)`)."
)
MSG_HA_OTHER_DATA = (
    "checkpoint {path} holds a historical-average table ({saved}) that these prepared data ({here}) do not give: it "
    "was trained on other sensors, days or split. Fix: prepare the data it was trained on."
)

INTERVAL_LEVELS = np.round(np.arange(1, 100) / 100, 2)
"""(L,) = 0.01, 0.02, ..., 0.99: the central-interval levels at which the calibrated scale is tabulated."""


class Forecast(struct.PyTreeNode):
    """Forecast speeds for B windows, H steps ahead, N sensors.

    Attributes:
        mean_mph: (B, H, N) ensemble mean, mph.
        std_mph: (B, H, N) predictive standard deviation (member spread + calibrated noise), mph.
        members_mph: (E, B, H, N) each member's forecast, mph.
        interval_scale: (H, L) calibrated multipliers of ``std_mph`` at `INTERVAL_LEVELS` per horizon step, or None
            for Gaussian ones.
    """

    mean_mph: jax.Array
    std_mph: jax.Array
    members_mph: jax.Array
    interval_scale: jax.Array | None = None

    def multiplier(self, level: float = 0.9) -> jax.Array:
        """Multipliers of ``std_mph`` giving the central ``level`` interval, (1, ..., H, 1) to match ``std_mph``."""
        if not 0.0 < level < 1.0:
            raise ValueError(f"level must lie in (0, 1); got {level}")
        h = self.mean_mph.shape[-2]
        shape = (1,) * (self.mean_mph.ndim - 2) + (h, 1)
        if self.interval_scale is None:
            return jnp.full(shape, NormalDist().inv_cdf(0.5 + level / 2), self.mean_mph.dtype)
        if not INTERVAL_LEVELS[0] <= level <= INTERVAL_LEVELS[-1]:
            raise ValueError(
                f"calibrated intervals are tabulated for levels {INTERVAL_LEVELS[0]}..{INTERVAL_LEVELS[-1]}; got "
                f"{level}. Fix: pick a level in that range, or drop the table (interval_scale=None) for Gaussian ones"
            )
        levels = jnp.asarray(INTERVAL_LEVELS, self.mean_mph.dtype)
        scale = jax.vmap(lambda row: jnp.interp(level, levels, row))(self.interval_scale)
        return scale.reshape(shape)

    def interval(self, level: float = 0.9) -> tuple[jax.Array, jax.Array]:
        """``(lower, upper)`` bounds, mph, of the central ``level`` interval (shapes of ``mean_mph``)."""
        half = self.multiplier(level) * self.std_mph
        return self.mean_mph - half, self.mean_mph + half


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
        interval_scale: (H, L) calibrated interval multipliers at `INTERVAL_LEVELS` (None: Gaussian).
        ha_table_mph: (N, steps_per_day) the training part's historical average, mph, when the model reads the
            historical-average feature (`twinlab.traffic.prepare`'s ``ha_feature``); None when it does not. New steps'
            features are computed from it (`TrafficTwin.features`).
    """

    graphdef: Any
    states: Any
    graph: jraph.GraphsTuple
    mean_mph: float
    std_mph: float
    noise_var: np.ndarray
    interval_scale: np.ndarray | None = None
    ha_table_mph: np.ndarray | None = None

    @property
    def n_features(self) -> int:
        """F, the features per node and step the model reads (5 with the historical-average feature, else 4)."""
        return N_FEATURES + (self.ha_table_mph is not None)

    @property
    def horizon_steps(self) -> int:
        """H, the steps it forecasts."""
        return int(np.asarray(self.noise_var).shape[0])

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
            interval_scale=None if self.interval_scale is None else jnp.asarray(self.interval_scale, z.dtype),
        )

    def predict_windows(self, windows: Windows, batch_size: int = 64) -> Forecast:
        """Forecasts for every window of ``windows`` (in order), batched."""
        parts = []
        for start in range(0, windows.count, batch_size):
            idx = jnp.arange(start, min(start + batch_size, windows.count))
            parts.append(self.members_z(take_batch(windows, idx).inputs))
        return self.from_members(jnp.concatenate(parts, axis=1))


def _calibrate(model: TrafficForecaster, windows: Windows) -> TrafficForecaster:
    """The model with its noise variance and interval scale set from ``windows`` (observed targets only).

    noise_var (H,): mean squared error of the ensemble mean minus the mean member variance (normalised units).
    interval_scale (H, L): per horizon step, the `INTERVAL_LEVELS` quantiles of ``|truth - mean| / std``.
    """
    parts = []
    for start in range(0, windows.count, 64):
        idx = jnp.arange(start, min(start + 64, windows.count))
        parts.append(np.asarray(model.members_z(take_batch(windows, idx).inputs)))
    z = np.concatenate(parts, axis=1)  # (E, W, H, N)
    batch = take_batch(windows, jnp.arange(windows.count))
    truth, seen = np.asarray(batch.targets), np.asarray(batch.weights) > 0
    mean = z.mean(axis=0)
    count = np.maximum(seen.sum(axis=(0, 2)), 1)
    mse = np.sum(np.where(seen, (mean - truth) ** 2, 0.0), axis=(0, 2)) / count
    spread = np.sum(np.where(seen, z.var(axis=0), 0.0), axis=(0, 2)) / count
    noise_var = np.maximum(mse - spread, 0.0)
    std = np.sqrt(z.var(axis=0) + noise_var[None, :, None])
    ratio = np.abs(truth - mean) / np.maximum(std, 1e-12)  # (W, H, N)
    scale = np.stack([np.quantile(ratio[:, h][seen[:, h]], INTERVAL_LEVELS) for h in range(ratio.shape[1])])  # (H, L)
    return replace(model, noise_var=noise_var, interval_scale=scale)


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
        checkpoint: optional path for the best states so far (atomic ``.npz``; with the historical-average feature,
            its table is kept beside the states, for `load_forecaster`).
        mesh: optional device mesh to shard each batch over.

    Returns:
        ``(forecaster, train_result)``.
    """
    h = prep.protocol.horizon_steps
    dtype = prep.train.features.dtype

    def make(rngs: nnx.Rngs) -> SpatioTemporalForecaster:
        return SpatioTemporalForecaster(prep.n_features, hidden, h, layer=layer, rngs=rngs, dtype=dtype)

    table = prep.ha_table_mph
    arrays = None if table is None else {HA_TABLE: table}
    result = train(
        make, prep.graph, prep.train, prep.val, config,
        progress=progress, checkpoint=checkpoint, checkpoint_arrays=arrays, mesh=mesh,
    )  # fmt: skip
    model = TrafficForecaster(
        result.graphdef, result.states, prep.graph, prep.mean_mph, prep.std_mph, np.zeros(h), ha_table_mph=table
    )
    return _calibrate(model, prep.val), result


def load_forecaster(
    prep: Prepared,
    checkpoint: str | os.PathLike[str],
    *,
    members: int,
    hidden: int = 32,
    layer: str = "gcn",
) -> TrafficForecaster:
    """A forecaster from the checkpoint `fit_forecaster` wrote, its intervals calibrated again on ``prep.val``.

    Args:
        prep: the prepared data it was trained on (the same sensors, protocol and dtype).
        checkpoint: the ``.npz`` written through ``fit_forecaster(..., checkpoint=path)``.
        members: its ensemble size.
        hidden: its state size per sensor.
        layer: its graph layer.

    The historical-average table, when the model reads that feature, comes from the checkpoint (saved beside the
    states by `fit_forecaster`); ``prep`` must have been prepared the same way (``ha_feature``).

    Raises:
        twinlab.gnn.CheckpointError: a missing or damaged file, or one saved with another configuration (the message
            names the first array that does not fit), or with the historical-average feature where ``prep`` has none
            (or the reverse), or a table that ``prep``'s data do not give.
    """
    h = prep.protocol.horizon_steps
    dtype = prep.train.features.dtype
    table, here = checkpoint_arrays(checkpoint).get(HA_TABLE), prep.ha_table_mph
    if table is not None and here is not None:
        if table.shape != here.shape or not np.allclose(table, here):
            raise CheckpointError(MSG_HA_OTHER_DATA.format(path=checkpoint, saved=table.shape, here=here.shape))
    elif table is not None or here is not None:
        saved = "without" if table is None else "with"
        raise CheckpointError(MSG_HA_MISMATCH.format(path=checkpoint, saved=saved))

    def make(rngs: nnx.Rngs) -> SpatioTemporalForecaster:
        return SpatioTemporalForecaster(prep.n_features, hidden, h, layer=layer, rngs=rngs, dtype=dtype)

    graphdef, template = init_ensemble(make, members, 0)  # the template gives structure and shapes only
    states, _ = load_checkpoint(checkpoint, template)
    model = TrafficForecaster(
        graphdef, states, prep.graph, prep.mean_mph, prep.std_mph, np.zeros(h), ha_table_mph=table
    )
    return _calibrate(model, prep.val)
