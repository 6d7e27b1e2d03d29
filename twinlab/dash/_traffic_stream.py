"""`TrafficStream`: the pure core of the live traffic dashboard (no UI library): replay, assimilate, forecast, what-if.

Speeds are replayed one step (one reading per sensor) at a time into a `tl.traffic.TrafficTwin`; after each step the
twin forecasts the next hour with intervals. A what-if (sensors lost, roads closed) is answered from the same window
by `TrafficTwin.what_if`, so the plan and the what-if differ only by the change asked for.

Sensors and roads are named by the data's sensor ids (strings), as a person sees them; indices stay inside.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import jax.numpy as jnp
import numpy as np
import pandas as pd

from twinlab.dash._network_layout import spring_layout

if TYPE_CHECKING:  # twinlab.traffic needs the gnn extra; `import twinlab.dash` must not
    from twinlab.traffic import Forecast, SpeedData, TrafficTwin

__all__ = ["HORIZONS_MIN", "TrafficStream"]

#: Forecast horizons a person can choose, minutes (those within the forecaster's horizon are offered).
HORIZONS_MIN = (15, 30, 45, 60)
#: Central mass of the forecast intervals drawn.
INTERVAL_LEVEL = 0.9

MSG_UNKNOWN_SENSOR = (
    "unknown sensor id {sensor!r}: this network has {n} sensors ({examples}, ...). "
    "Fix: pick one of `stream.sensor_ids` (ids are strings, as in the data's header)."
)
MSG_NO_ROAD = (
    "no road links sensors {a!r} and {b!r} in this network, so it cannot be closed. "
    "Fix: pick a pair from `stream.roads` (sensor pairs with a link in the adjacency)."
)
MSG_HORIZON = (
    "a forecast horizon of {h!r} min is not offered; the forecaster covers {covered} min. Fix: choose one of {offered}."
)


def _split(fc: Forecast) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(H, N) mean, lower and upper interval bounds of a batch-of-one forecast, mph."""
    lo, hi = fc.interval(INTERVAL_LEVEL)
    return np.asarray(fc.mean_mph[0], np.float64), np.asarray(lo[0], np.float64), np.asarray(hi[0], np.float64)


class TrafficStream:
    """Road speeds replayed step by step into a traffic twin, with forecasts and what-ifs from the latest window.

    Args:
        twin: the twin (its forecaster's graph must have the data's N sensors, in the same order).
        data: the speeds to replay and the sensor graph (`tl.traffic.SpeedData`).
        start_step: the first step replayed; the twin's first window is the ``twin.input_steps`` steps before it.
        horizon_min: the forecast horizon shown first (one of `horizons_min`).
        seed: seed of the drawing layout (`spring_layout`).

    Attributes:
        positions: (N, 2) drawing positions of the sensors (a seeded force-directed layout of the adjacency: the
            data set gives no coordinates).
        cursor: the next step to deliver (a row of ``data.speed_mph``).
        steps: steps delivered so far.
    """

    def __init__(
        self, twin: TrafficTwin, data: SpeedData, *, start_step: int, horizon_min: int = 30, seed: int = 0
    ) -> None:
        n_graph = int(np.asarray(twin.forecaster.graph.n_node).sum())
        n = len(data.sensor_ids)
        if n_graph != n:
            raise ValueError(
                f"the twin's forecaster knows {n_graph} sensors but the data have {n}. Fix: pass the data the "
                "forecaster was trained on (the same sensors in the same order)."
            )
        total = data.speed_mph.shape[0]
        if not twin.input_steps <= start_step < total:
            raise ValueError(f"start_step must lie in [{twin.input_steps}, {total}) (a full window before it); "
                             f"got {start_step}")  # fmt: skip
        self.twin = twin
        self.data = data
        self.sensor_ids = data.sensor_ids
        self._index = {s: i for i, s in enumerate(data.sensor_ids)}
        upper = np.triu(data.adjacency > 0, k=1)
        #: The roads: linked sensor pairs, by id (each pair once, in index order).
        self.roads = tuple((data.sensor_ids[i], data.sensor_ids[j]) for i, j in zip(*np.nonzero(upper), strict=True))
        self.positions = spring_layout(data.adjacency, seed=seed)
        self.start_step = int(start_step)
        self.cursor = int(start_step)
        self.steps = 0
        self.horizon_min = horizon_min
        self.horizon_index(horizon_min)
        lo = start_step - twin.input_steps
        self.window = twin.start(
            jnp.asarray(data.speed_mph[lo:start_step]),
            jnp.ones((twin.input_steps, n)),
            jnp.asarray(data.step_of_day()[lo:start_step]),
        )
        self._plan: tuple[int, Forecast] | None = None
        self._what_if: tuple[tuple[int, tuple[int, ...], tuple[tuple[int, int], ...]], Forecast] | None = None

    # -- names -> indices, with errors that say what to pick ---------------------------------------------------------

    @property
    def horizons_min(self) -> tuple[int, ...]:
        """The horizons offered: those of `HORIZONS_MIN` the forecaster reaches, minutes."""
        reach = self._reach_min()
        return tuple(h for h in HORIZONS_MIN if h <= reach and h % self.data.step_minutes == 0)

    def _reach_min(self) -> int:
        # The calibrated noise has one entry per horizon step: H steps of the data's step length.
        return int(np.asarray(self.twin.forecaster.noise_var).shape[0]) * self.data.step_minutes

    def horizon_index(self, horizon_min: int) -> int:
        """The forecast's step index (0-based) of ``horizon_min`` minutes ahead; a clear error if it is not offered."""
        if horizon_min not in self.horizons_min:
            raise ValueError(MSG_HORIZON.format(h=horizon_min, covered=self._reach_min(), offered=self.horizons_min))
        return horizon_min // self.data.step_minutes - 1

    def sensor_index(self, sensor: str) -> int:
        """The column of sensor id ``sensor``; a clear error for an unknown id."""
        if sensor not in self._index:
            examples = ", ".join(repr(s) for s in self.sensor_ids[:3])
            raise ValueError(MSG_UNKNOWN_SENSOR.format(sensor=sensor, n=len(self.sensor_ids), examples=examples))
        return self._index[sensor]

    def road_index(self, road: tuple[str, str]) -> tuple[int, int]:
        """The sensor columns a road links (either order); a clear error for a pair with no link."""
        a, b = road
        i, j = self.sensor_index(a), self.sensor_index(b)
        if i == j or self.data.adjacency[i, j] <= 0:
            raise ValueError(MSG_NO_ROAD.format(a=a, b=b))
        return i, j

    # -- the replay -------------------------------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        """Whether every step of the data has been replayed."""
        return self.cursor >= self.data.speed_mph.shape[0]

    def step(self) -> np.ndarray:
        """Deliver the next step's readings to the twin; return them, (N,) mph. `StopIteration` at the data's end."""
        if self.done:
            raise StopIteration("the speeds have been replayed to their end")
        speed = self.data.speed_mph[self.cursor]
        tod = self.data.step_of_day()[self.cursor]
        self.window = self.twin.assimilate(self.window, jnp.asarray(speed), jnp.ones(speed.shape), jnp.asarray(tod))
        self.cursor += 1
        self.steps += 1
        return speed

    def hour(self, step: int | np.ndarray) -> np.ndarray:
        """Hours since the data's first row (the time axis of the plots), for rows ``step``."""
        return np.asarray(step, dtype=np.float64) * self.data.step_minutes / 60.0

    def clock(self) -> str:
        """The time of the latest reading, as "day D HH:MM" (day 1 is the data's first day)."""
        minute = (self.data.first_step_of_day + self.cursor - 1) * self.data.step_minutes
        day, rest = divmod(minute, 24 * 60)
        return f"day {day + 1} {rest // 60:02d}:{rest % 60:02d}"

    def readings(self, sensor: str) -> pd.DataFrame:
        """The readings of ``sensor`` so far (the first window included): columns ``hour``, ``speed_mph``."""
        i = self.sensor_index(sensor)
        rows = np.arange(self.start_step - self.twin.input_steps, self.cursor)
        return pd.DataFrame({"hour": self.hour(rows), "speed_mph": self.data.speed_mph[rows, i]})

    # -- forecasts --------------------------------------------------------------------------------------------------

    def forecast(self) -> Forecast:
        """The forecast from the latest window (made once per step)."""
        if self._plan is None or self._plan[0] != self.steps:
            self._plan = (self.steps, self.twin.forecast(self.window))
        return self._plan[1]

    def what_if(self, lost: Sequence[str] = (), closed: Sequence[tuple[str, str]] = ()) -> Forecast | None:
        """The forecast with sensors ``lost`` and roads ``closed`` (sensor ids), or None when nothing is changed.

        Lost sensors' readings are missing over the whole window; a closed road's link is removed from the graph
        (`tl.traffic.TrafficTwin.what_if`). The latest what-if is kept until the step or the change moves on.
        """
        idx = tuple(sorted({self.sensor_index(s) for s in lost}))
        roads = tuple(sorted({(min(ij), max(ij)) for ij in map(self.road_index, closed)}))
        if not idx and not roads:
            return None
        key = (self.steps, idx, roads)
        if self._what_if is None or self._what_if[0] != key:
            _, scenario = self.twin.what_if(self.window, lost_sensors=list(idx), closed_roads=list(roads))
            self._what_if = (key, scenario)
        return self._what_if[1]

    def network(
        self, horizon_min: int, lost: Sequence[str] = (), closed: Sequence[tuple[str, str]] = ()
    ) -> pd.DataFrame:
        """One row per sensor: position, last reading, and the plan's and the what-if's forecast ``horizon_min`` ahead.

        Columns: ``sensor``, ``x``, ``y``, ``last_mph``, ``plan_mph``, ``plan_lo_mph``, ``plan_hi_mph``,
        ``what_if_mph``, ``what_if_lo_mph``, ``what_if_hi_mph`` (the plan's values when nothing is changed), ``lost``
        (bool). Interval bounds are the central `INTERVAL_LEVEL` interval.
        """
        h = self.horizon_index(horizon_min)
        plan = [a[h] for a in _split(self.forecast())]
        changed = self.what_if(lost, closed)
        alt = plan if changed is None else [a[h] for a in _split(changed)]
        lost_idx = {self.sensor_index(s) for s in lost}
        return pd.DataFrame({
            "sensor": list(self.sensor_ids),
            "x": self.positions[:, 0],
            "y": self.positions[:, 1],
            "last_mph": self.data.speed_mph[self.cursor - 1],
            "plan_mph": plan[0], "plan_lo_mph": plan[1], "plan_hi_mph": plan[2],
            "what_if_mph": alt[0], "what_if_lo_mph": alt[1], "what_if_hi_mph": alt[2],
            "lost": [i in lost_idx for i in range(len(self.sensor_ids))],
        })  # fmt: skip

    def band(self, sensor: str, forecast: Forecast | None) -> pd.DataFrame:
        """``sensor``'s forecast over the whole horizon: columns ``hour``, ``mean_mph``, ``lo_mph``, ``hi_mph``.

        Empty when ``forecast`` is None. Row k is the forecast k + 1 steps after the latest reading.
        """
        i = self.sensor_index(sensor)
        if forecast is None:
            return pd.DataFrame({"hour": [], "mean_mph": [], "lo_mph": [], "hi_mph": []}, dtype=np.float64)
        mean, lo, hi = (a[:, i] for a in _split(forecast))
        hours = self.hour(self.cursor - 1 + np.arange(1, mean.shape[0] + 1))
        return pd.DataFrame({"hour": hours, "mean_mph": mean, "lo_mph": lo, "hi_mph": hi})
