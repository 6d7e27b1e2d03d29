"""The forecasting protocol: chronological split, train-only normalisation, node features, windows.

Node features per step (F = 5; 4 with ``prepare(..., ha_feature=False)``): normalised speed (0 where missing), an
observed flag (1 = reading present), the time of day as sine and cosine, and the sensor's historical-average speed
one horizon (H steps) after this step, normalised like speed: across the T_in input steps it carries the
historical-average profile of the targets, a known-future input (on the Los Angeles data it lowered the graph GRU's
errors at every horizon; `benchmarks/RESULTS.md`). Its table comes from the training part only, leaving the target's
own day out for targets inside the training part (validation days included; `twinlab.traffic._history`), so no
window sees its own future. A missing reading has all its features zero, the historical average included, which is
also what ``TrainConfig.drop_nodes`` produces during training.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp
import jraph
import numpy as np

from twinlab.gnn import Windows, from_adjacency, make_windows
from twinlab.traffic._data import SpeedData
from twinlab.traffic._history import ha_ahead, ha_table

__all__ = ["N_FEATURES", "Prepared", "Protocol", "node_features", "prepare"]

N_FEATURES = 4
"""Features per node and step without the historical-average one (`Prepared.n_features` counts it)."""


@dataclass(frozen=True)
class Protocol:
    """The evaluation protocol (defaults: the usual one for these data).

    Attributes:
        input_steps: past steps the model sees (12 five-minute steps = 1 h).
        horizon_steps: future steps it predicts (12 = 1 h); metrics are read at `report_steps`.
        train_fraction: leading share of the steps used for training (the rest is the test part).
        val_fraction: trailing share of the training part held out for early stopping and interval calibration.
        report_steps: horizons reported (3, 6, 9, 12 steps = 15, 30, 45, 60 min).
    """

    input_steps: int = 12
    horizon_steps: int = 12
    train_fraction: float = 0.8
    val_fraction: float = 0.1
    report_steps: tuple[int, ...] = (3, 6, 9, 12)

    def __post_init__(self) -> None:
        if not 0.0 < self.train_fraction < 1.0 or not 0.0 < self.val_fraction < 1.0:
            raise ValueError("train_fraction and val_fraction must lie in (0, 1)")
        if not self.report_steps or max(self.report_steps) > self.horizon_steps or min(self.report_steps) < 1:
            raise ValueError(f"report_steps {self.report_steps} must lie in 1..horizon_steps ({self.horizon_steps})")


@dataclass(frozen=True)
class Prepared:
    """Data ready for training and evaluation.

    Attributes:
        data: the source `SpeedData`.
        protocol: the `Protocol` used.
        graph: the sensor graph (edges = adjacency weights, self loops kept).
        mean_mph: training-part mean speed (normalisation).
        std_mph: training-part speed standard deviation.
        train: windows for fitting (normalised).
        val: windows for early stopping and calibration (after `train` in time).
        test: windows of the test part (after the split; inputs and targets both inside it).
        split_step: first step of the test part.
        ha_table_mph: (N, steps_per_day) the training part's historical average, mph, when the windows carry the
            historical-average feature (the table new steps are read from), else None.
    """

    data: SpeedData
    protocol: Protocol
    graph: jraph.GraphsTuple
    mean_mph: float
    std_mph: float
    train: Windows
    val: Windows
    test: Windows
    split_step: int
    ha_table_mph: np.ndarray | None = None

    @property
    def n_features(self) -> int:
        """F, features per node and step (5 with the historical-average feature, else 4)."""
        return N_FEATURES + (self.ha_table_mph is not None)

    def to_mph(self, z: jnp.ndarray) -> jnp.ndarray:
        """Normalised values -> mph."""
        return z * self.std_mph + self.mean_mph

    def test_truth_mph(self) -> np.ndarray:
        """(W_test, H, N) the true future speeds of every test window, mph."""
        return _future(self.data.speed_mph[self.split_step :], self.test, self.protocol)


def _future(speed: np.ndarray, windows: Windows, p: Protocol) -> np.ndarray:
    starts = np.asarray(windows.starts)[:, None] + p.input_steps + np.arange(p.horizon_steps)
    return speed[starts]


def node_features(
    speed_mph: np.ndarray,
    observed: np.ndarray,
    step_of_day: np.ndarray,
    mean_mph: float,
    std_mph: float,
    per_day: int,
    ha_mph: np.ndarray | None = None,
) -> np.ndarray:
    """Model features of T steps (see the module docstring).

    Args:
        speed_mph: (T, N) speeds, mph (ignored where not observed).
        observed: (T, N) 0/1 flags.
        step_of_day: (T,) step of the day of each row.
        mean_mph: normalisation mean.
        std_mph: normalisation standard deviation.
        per_day: steps in a day.
        ha_mph: (T, N) historical-average speed one horizon after each step, mph (`ha_ahead`), or None.

    Returns:
        (T, N, 4) features, or (T, N, 5) with ``ha_mph``.
    """
    obs = observed > 0
    z = np.where(obs, (speed_mph - mean_mph) / std_mph, 0.0)
    angle = 2 * np.pi * step_of_day / per_day
    tod = np.broadcast_to(np.stack([np.sin(angle), np.cos(angle)], -1)[:, None, :], (*z.shape, 2))
    parts = [z[..., None], obs[..., None].astype(np.float64), tod * obs[..., None]]
    if ha_mph is not None:
        if ha_mph.shape != z.shape:
            raise ValueError(f"ha_mph must have the speeds' shape {z.shape}; got {ha_mph.shape}")
        parts.append(np.where(obs, (ha_mph - mean_mph) / std_mph, 0.0)[..., None])  # zero where missing, like the rest
    return np.concatenate(parts, axis=-1)


def prepare(
    data: SpeedData, protocol: Protocol | None = None, *, ha_feature: bool = True, dtype: type = jnp.float32
) -> Prepared:
    """Split chronologically, normalise with training statistics only, and cut windows.

    Args:
        data: speeds and graph.
        protocol: the `Protocol` (default: the usual one).
        ha_feature: the historical-average speed one horizon ahead as a fifth feature (module docstring); False
            leaves the four others.
        dtype: float dtype of the windows and graph.

    Raises:
        ValueError: a horizon (input + output steps) longer than the validation or test part.
    """
    p = protocol or Protocol()
    t = data.speed_mph.shape[0]
    split = round(p.train_fraction * t)
    val_start = round((1.0 - p.val_fraction) * split)
    span = p.input_steps + p.horizon_steps
    for name, length in (("training", val_start), ("validation", split - val_start), ("test", t - split)):
        if length < span:
            raise ValueError(
                f"the {name} part has {length} steps but one window needs {p.input_steps} input + "
                f"{p.horizon_steps} horizon = {span}. Fix: a shorter horizon or input, or a longer series."
            )
    train_speed = data.speed_mph[:split]
    mean, std = float(train_speed.mean()), float(train_speed.std())
    observed = np.ones_like(data.speed_mph)
    tod, per_day = data.step_of_day(), data.steps_per_day
    table, ahead = None, None
    if ha_feature:
        table = ha_table(train_speed, tod[:split], per_day)
        day = (data.first_step_of_day + np.arange(t)) // per_day
        ahead = ha_ahead(data.speed_mph, tod, day, split, per_day, p.horizon_steps)
    feats = node_features(data.speed_mph, observed, tod, mean, std, per_day, ahead)
    target = (data.speed_mph - mean) / std

    def part(lo: int, hi: int) -> Windows:
        return make_windows(feats[lo:hi], target[lo:hi], p.input_steps, p.horizon_steps, dtype=dtype)

    return Prepared(
        data=data,
        protocol=p,
        graph=from_adjacency(data.adjacency, dtype=dtype),
        mean_mph=mean,
        std_mph=std,
        train=part(0, val_start),
        # Validation inputs may reach back into the training part; its targets lie after val_start.
        val=part(val_start - p.input_steps, split),
        test=part(split, t),
        split_step=split,
        ha_table_mph=table,
    )
