"""`GlucoseStream`: the pure core of the live glucose dashboard (no UI library): replay, assimilate, forecast.

A record is replayed in stretches of ``step_min`` minutes, as a sensor would deliver them. Each stretch updates the
twin (`tl.Twin.assimilate`, the particle filter) and the forecast is redrawn from the new beliefs. What-ifs change
the plan ahead (a bolus now, a meal later) or scale one personalised parameter from now on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import jax
import numpy as np

from twinlab.bayes._forecast import Forecast
from twinlab.glucose._record import GlucoseRecord
from twinlab.glucose._schedule import Schedule
from twinlab.glucose._uva_padova import UVAPadova
from twinlab.twin import Twin


@dataclass(frozen=True)
class WhatIfControls:
    """The what-if a person sets on the dashboard: plain values, converted to a plan only at the core's edge.

    Attributes:
        bolus_u: insulin bolus now, U.
        meal_g: carbohydrate of a meal, g (0 for none).
        meal_in_min: minutes from now to the meal.
        parameter: a personalised parameter to change ("" for none).
        factor: the parameter's multiplier from now on (1 for no change).
    """

    bolus_u: float = 0.0
    meal_g: float = 0.0
    meal_in_min: int = 0
    parameter: str = ""
    factor: float = 1.0

    def plan(self, horizon_min: int) -> Schedule:
        """The plan ahead these controls describe, over ``horizon_min`` minutes."""
        if self.bolus_u < 0 or self.meal_g < 0 or self.factor <= 0:
            raise ValueError(f"bolus, meal and factor must be non-negative (factor positive); got {self}")
        if not 0 <= self.meal_in_min < horizon_min:
            raise ValueError(f"meal_in_min must lie in [0, {horizon_min}); got {self.meal_in_min}")
        meals = [(int(self.meal_in_min), float(self.meal_g))] if self.meal_g > 0 else []
        boluses = [(0, float(self.bolus_u))] if self.bolus_u > 0 else []
        return Schedule(meals=meals, boluses=boluses)

    @property
    def is_change(self) -> bool:
        """Whether these controls differ from "nothing planned"."""
        return self.bolus_u > 0 or self.meal_g > 0 or (self.parameter != "" and self.factor != 1.0)


def scaled(twin: Twin, parameter: str, factor: float) -> Twin:
    """The twin with one personalised parameter multiplied by ``factor`` in every draw (its states unchanged)."""
    post = twin.posterior
    if parameter not in post.free:
        raise ValueError(f"{parameter!r} is not a personalised parameter of this twin; choose one of {post.free}")
    theta = post.theta.copy()
    theta[..., post.free.index(parameter)] += np.log(factor)
    return replace(twin, posterior=replace(post, theta=theta))


class GlucoseStream:
    """A record replayed stretch by stretch into a twin, with forecasts and what-ifs from the latest beliefs.

    Args:
        twin: the twin at the start of the replay (its record is what has been seen so far).
        future: the readings still to come, minute 0 at the twin's end.
        step_min: minutes delivered per `step`.
        horizon_min: forecast horizon, minutes.
        max_draws: draws used per forecast.
        seed: seed of the forecasts' and the filter's PRNG keys.
    """

    def __init__(
        self,
        twin: Twin,
        future: GlucoseRecord,
        *,
        step_min: int = 15,
        horizon_min: int = 120,
        max_draws: int = 256,
        seed: int = 0,
    ) -> None:
        if step_min <= 0 or horizon_min <= 0:
            raise ValueError(f"step_min and horizon_min must be positive minutes; got {step_min}, {horizon_min}")
        self.twin = twin
        self.future = future
        self.step_min = int(step_min)
        self.horizon_min = int(horizon_min)
        self.max_draws = int(max_draws)
        self._key = jax.random.key(seed)
        self.cursor_min = 0
        self.steps = 0
        self._planned: tuple[int, jax.Array, Forecast] | None = None

    @property
    def done(self) -> bool:
        """Whether the whole record has been replayed."""
        return self.cursor_min + self.step_min > self.future.minutes

    @property
    def gate(self) -> str:
        """The gate's verdict on the twin's latest beliefs, in words."""
        d = self.twin.posterior.diagnostics
        return "gate: passed" if d.ok else "gate: WITHHELD (" + "; ".join(d.failures) + ")"

    def _next_key(self) -> jax.Array:
        self._key, key = jax.random.split(self._key)
        return key

    def step(self) -> tuple[np.ndarray, np.ndarray]:
        """Deliver the next ``step_min`` minutes: assimilate them, return their readings ``(minute, mg/dL)``.

        Minutes are on the twin's clock. Raises `StopIteration` when the record is exhausted.
        """
        if self.done:
            raise StopIteration("the record has been replayed to its end")
        chunk = self.future.window(self.cursor_min, self.cursor_min + self.step_min)
        start = self.twin.minutes
        # The gate's verdict is shown, not enforced: a live view keeps following the data and says when it is withheld.
        self.twin = self.twin.assimilate(chunk, key=self._next_key(), allow_withheld=True)
        self.cursor_min += self.step_min
        self.steps += 1
        return chunk.cgm_minute + start, chunk.cgm_mg_dl

    def forecast(self, controls: WhatIfControls | None = None) -> tuple[Forecast, Forecast | None]:
        """``(planned, changed)``: the forecast with nothing planned, and under ``controls`` (None when unchanged).

        Both use the same PRNG key (a paired comparison). The planned forecast is made once per `step` and reused while
        only the what-if changes, so a control move costs one forecast and the planned band stays put on screen.
        """
        if self._planned is None or self._planned[0] != self.steps:
            key = self._next_key()
            self._planned = (self.steps, key, self.twin.forecast(self.horizon_min, key=key, allow_withheld=True))
        _, key, planned = self._planned
        if controls is None or not controls.is_change:
            return planned, None
        twin = self.twin if controls.parameter == "" else scaled(self.twin, controls.parameter, controls.factor)
        changed = twin.forecast(self.horizon_min, key=key, plan=controls.plan(self.horizon_min), allow_withheld=True)
        return planned, changed


def start_stream(
    record: GlucoseRecord,
    *,
    head_min: int = 60,
    free: Sequence[str] = ("kp2", "Vmx", "kabs"),
    n_particles: int = 256,
    seed: int = 0,
    step_min: int = 15,
    horizon_min: int = 120,
) -> GlucoseStream:
    """A stream replaying ``record`` after its first ``head_min`` minutes into a prior-ensemble twin."""
    from twinlab.dash._ensemble import prior_ensemble

    if not 0 < head_min < record.minutes:
        raise ValueError(f"head_min must lie inside the record (0, {record.minutes}); got {head_min}")
    head, future = record.split(head_min)
    twin = prior_ensemble(UVAPadova(), head, free, n_particles=n_particles, key=jax.random.key(seed))
    return GlucoseStream(twin, future, step_min=step_min, horizon_min=horizon_min, seed=seed + 1)
