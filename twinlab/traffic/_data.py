"""Road-sensor speed data on a graph: the Los Angeles loop detectors (T-GCN's ``los_loop``), and sensor subsets.

Units: speeds in mph, one row per 5-minute step; the adjacency is a unitless weight in (0, 1] (a thresholded Gaussian
kernel of road distance) with zero meaning "not linked".
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from twinlab import datasets

__all__ = ["SpeedData", "load_los_loop", "nearby_sensors", "speed_data"]

STEPS_PER_DAY_5MIN = 288


@dataclass(frozen=True)
class SpeedData:
    """Speeds at N road sensors over T equal steps, with the sensor graph.

    Attributes:
        speed_mph: (T, N) float64 speeds, mph.
        adjacency: (N, N) float64 link weights, 0 where two sensors are not linked.
        sensor_ids: N detector identifiers.
        step_minutes: minutes between rows.
        first_step_of_day: index of the first row within its day (0 = midnight).
    """

    speed_mph: np.ndarray
    adjacency: np.ndarray
    sensor_ids: tuple[str, ...]
    step_minutes: int = 5
    first_step_of_day: int = 0

    @property
    def steps_per_day(self) -> int:
        """Rows per day."""
        return 24 * 60 // self.step_minutes

    def step_of_day(self) -> np.ndarray:
        """(T,) int index of each row within its day."""
        return (self.first_step_of_day + np.arange(self.speed_mph.shape[0])) % self.steps_per_day

    def head(self, steps: int) -> SpeedData:
        """The first ``steps`` rows."""
        if not 1 <= steps <= self.speed_mph.shape[0]:
            raise ValueError(f"steps must lie in 1..{self.speed_mph.shape[0]}; got {steps}")
        return SpeedData(
            self.speed_mph[:steps], self.adjacency, self.sensor_ids, self.step_minutes, self.first_step_of_day
        )

    def subset(self, sensors: list[int] | np.ndarray) -> SpeedData:
        """The same data restricted to the given sensor columns (the graph restricted to them too)."""
        idx = np.asarray(sensors, dtype=int)
        return SpeedData(
            self.speed_mph[:, idx],
            self.adjacency[np.ix_(idx, idx)],
            tuple(self.sensor_ids[i] for i in idx),
            self.step_minutes,
            self.first_step_of_day,
        )


def speed_data(
    speed_mph: np.ndarray,
    adjacency: np.ndarray,
    sensor_ids: list[str] | tuple[str, ...] | None = None,
    *,
    step_minutes: int = 5,
    first_step_of_day: int = 0,
) -> SpeedData:
    """Checked `SpeedData` from arrays.

    Raises:
        ValueError: adjacency and speeds of different sizes, non-finite or negative values, a bad step length.
    """
    speed = np.asarray(speed_mph, dtype=np.float64)
    adj = np.asarray(adjacency, dtype=np.float64)
    if speed.ndim != 2:
        raise ValueError(f"speed_mph must be (T steps, N sensors); got shape {speed.shape}")
    if adj.shape != (speed.shape[1], speed.shape[1]):
        raise ValueError(
            f"the adjacency is {adj.shape} but there are {speed.shape[1]} sensors (speed columns): they must describe "
            f"the same sensors in the same order. Fix: pass an ({speed.shape[1]}, {speed.shape[1]}) adjacency."
        )
    for name, arr in (("speed_mph", speed), ("adjacency", adj)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} holds NaN or inf values; fill or interpolate gaps before building the data")
        if np.any(arr < 0):
            raise ValueError(f"{name} holds negative values; speeds and link weights are >= 0")
    if step_minutes < 1 or (24 * 60) % step_minutes:
        raise ValueError(f"step_minutes must divide a day into whole steps; got {step_minutes}")
    ids = tuple(str(i) for i in (sensor_ids if sensor_ids is not None else range(speed.shape[1])))
    if len(ids) != speed.shape[1]:
        raise ValueError(f"{len(ids)} sensor ids for {speed.shape[1]} sensors")
    return SpeedData(speed, adj, ids, step_minutes, first_step_of_day)


def load_los_loop() -> SpeedData:
    """The Los Angeles highway speeds: 207 loop detectors, 2016 five-minute steps (1-7 March 2012, from midnight).

    Source: T-GCN's repository (Zhao et al., IEEE T-ITS 2019, doi:10.1109/TITS.2019.2935152), read through
    ``twinlab.datasets`` (checksum verified on every load). Licence: none stated for the data; cite the paper.
    Speeds are capped at 70 mph; gaps were filled by linear interpolation at the source.

    Raises:
        twinlab.datasets.DataFileError: a file is missing or damaged (the message says where it was looked for).
    """
    import pandas as pd

    speed = pd.read_csv(datasets.fetch("tgcn_los_loop", "los_speed.csv"))
    adj = np.loadtxt(datasets.fetch("tgcn_los_loop", "los_adj.csv"), delimiter=",")
    return speed_data(speed.to_numpy(np.float64), adj, list(speed.columns), step_minutes=5, first_step_of_day=0)


def nearby_sensors(adjacency: np.ndarray, count: int, start: int = 0) -> list[int]:
    """``count`` sensors reached first by a breadth-first walk of the graph from ``start`` (a connected patch).

    If the component of ``start`` is smaller than ``count``, the walk continues from the lowest unvisited sensor.
    """
    n = adjacency.shape[0]
    if not 1 <= count <= n:
        raise ValueError(f"count must be between 1 and {n}; got {count}")
    seen: list[int] = []
    visited = np.zeros(n, bool)
    queue: deque[int] = deque([start])
    visited[start] = True
    while len(seen) < count:
        if not queue:
            nxt = int(np.flatnonzero(~visited)[0])
            visited[nxt] = True
            queue.append(nxt)
        node = queue.popleft()
        seen.append(node)
        for nb in np.flatnonzero(adjacency[node] > 0):
            if not visited[nb]:
                visited[nb] = True
                queue.append(int(nb))
    return seen
