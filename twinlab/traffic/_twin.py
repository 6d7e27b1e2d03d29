"""The traffic twin: assimilate readings as they arrive, forecast with intervals, and answer what-ifs on the graph.

The twin's state is the last T_in steps of node features (a (T_in, N, F) window), so assimilating a reading is a pure
function ``window -> window`` and a replay of a day is one ``lax.scan``. A missing reading (a sensor down) is passed
with ``observed = 0``; its value is ignored (it may be NaN) and the model sees the "missing" features it was trained
with (``TrainConfig.drop_nodes``): all zero, the historical-average feature included. A forecaster that reads the
historical-average feature carries its training-part table (`TrafficForecaster.ha_table_mph`): a new step's feature is
that table at the step of the day one horizon later, exactly as `twinlab.traffic.prepare` computes it for the test
part.

What-ifs answered here are about the forecaster's knowledge of the network: a sensor lost (its readings missing
from now on) or a road closed (the link removed from the graph the model passes messages along). A closed road
therefore means "this link no longer couples its two ends", not a re-routing of demand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import jraph
import numpy as np

from twinlab.gnn import remove_edges
from twinlab.traffic._forecast import Forecast, TrafficForecaster

__all__ = ["TrafficTwin"]


@partial(jax.jit, static_argnums=(0,))
def _replay(twin: TrafficTwin, window: jax.Array, speed: jax.Array, observed: jax.Array, tod: jax.Array) -> Any:
    def step(w: jax.Array, xs: tuple[jax.Array, jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array]:
        w = twin.assimilate(w, *xs)
        return w, twin.forecaster.members_z(w[None])[:, 0]

    _, z = jax.lax.scan(step, window, (speed, observed, tod))
    return jnp.swapaxes(z, 0, 1)  # (E, T, H, N)


@dataclass(frozen=True, eq=False)
class TrafficTwin:
    """A road network's speed twin.

    Attributes:
        forecaster: the trained `TrafficForecaster` (ensemble + calibration).
        steps_per_day: steps in a day (288 for 5-minute data).
        input_steps: T_in, the steps the forecaster reads.
    """

    forecaster: TrafficForecaster
    steps_per_day: int
    input_steps: int

    def __post_init__(self) -> None:
        table = self.forecaster.ha_table_mph
        if table is not None and np.shape(table)[1] != self.steps_per_day:
            raise ValueError(
                f"the forecaster's historical-average table has {np.shape(table)[1]} steps per day but the twin was "
                f"given steps_per_day={self.steps_per_day}. Fix: pass the data's steps_per_day (its step length)."
            )

    def features(self, speed_mph: jax.Array, observed: jax.Array, step_of_day: jax.Array) -> jax.Array:
        """(..., N) speeds, mph, and 0/1 flags, (...) step of day -> (..., N, F) model features (jittable).

        F = ``forecaster.n_features``: 4, or 5 with the historical-average speed one horizon after each step.
        """
        f = self.forecaster
        dtype = jax.tree.leaves(f.states)[0].dtype
        obs = observed > 0
        z = jnp.where(obs, (jnp.where(obs, speed_mph, f.mean_mph) - f.mean_mph) / f.std_mph, 0.0).astype(dtype)
        step = jnp.asarray(step_of_day)
        angle = (2 * jnp.pi / self.steps_per_day) * step.astype(dtype)
        tod = jnp.stack([jnp.sin(angle), jnp.cos(angle)], -1)[..., None, :]
        # A missing reading is all-zero features, as TrainConfig.drop_nodes makes them in training.
        tod = jnp.broadcast_to(tod, (*z.shape, 2)) * obs.astype(dtype)[..., None]
        parts = [z[..., None], obs.astype(dtype)[..., None], tod]
        if f.ha_table_mph is not None:
            table = jnp.asarray(f.ha_table_mph, dtype)  # (N, steps_per_day)
            ahead = jnp.take(table.T, (step + f.horizon_steps) % self.steps_per_day, axis=0)  # (..., N)
            parts.append(jnp.where(obs, (ahead - f.mean_mph) / f.std_mph, 0.0).astype(dtype)[..., None])
        return jnp.concatenate(parts, axis=-1)

    def start(self, speed_mph: jax.Array, observed: jax.Array, step_of_day: jax.Array) -> jax.Array:
        """The first window from (T_in, N) speeds and flags and (T_in,) steps of day."""
        if speed_mph.shape[0] != self.input_steps:
            raise ValueError(f"start needs the last {self.input_steps} steps; got {speed_mph.shape[0]}")
        return self.features(speed_mph, observed, step_of_day)

    def assimilate(
        self, window: jax.Array, speed_mph: jax.Array, observed: jax.Array, step_of_day: jax.Array
    ) -> jax.Array:
        """Add one step of (N,) readings (mph; ``observed`` 0 where a sensor reported nothing) to the window."""
        new = self.features(speed_mph, observed, step_of_day)
        return jnp.concatenate([window[1:], new[None]], axis=0)

    def forecast(self, window: jax.Array, graph: jraph.GraphsTuple | None = None) -> Forecast:
        """The forecast (batch of one) from the current window, optionally on a changed graph."""
        return self.forecaster.predict(window[None], graph)

    def replay(self, window: jax.Array, speed_mph: jax.Array, observed: jax.Array, step_of_day: jax.Array) -> Forecast:
        """Stream T steps of readings into the twin, forecasting after each one.

        Args:
            window: the starting (T_in, N, F) window (`start`).
            speed_mph: (T, N) readings, mph (ignored where not observed).
            observed: (T, N) 0/1 flags.
            step_of_day: (T,) step of day of each reading.

        Returns:
            A `Forecast` with B = T: forecast t is made right after reading t.
        """
        z = _replay(self, window, jnp.asarray(speed_mph), jnp.asarray(observed), jnp.asarray(step_of_day))
        return self.forecaster.from_members(z)

    def what_if(
        self,
        window: jax.Array,
        *,
        lost_sensors: Sequence[int] = (),
        closed_roads: Sequence[tuple[int, int]] = (),
    ) -> tuple[Forecast, Forecast]:
        """``(as is, scenario)`` forecasts from the same window.

        Args:
            window: the twin's current (T_in, N, F) window.
            lost_sensors: sensors whose readings are missing over the whole window.
            closed_roads: sensor pairs whose link is removed from the graph (both directions).
        """
        scenario = window
        if lost_sensors:
            idx = jnp.asarray(list(lost_sensors), dtype=jnp.int32)
            scenario = scenario.at[:, idx, :].set(0.0)  # all-zero features: "missing", as in training
        graph = remove_edges(self.forecaster.graph, closed_roads) if closed_roads else None
        return self.forecast(window), self.forecast(scenario, graph)
