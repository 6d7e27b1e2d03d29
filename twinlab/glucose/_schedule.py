"""`Schedule`: meals, boluses and basal insulin of a simulated day, checked and turned into per-minute inputs."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

Event = tuple[float, float]


def _as_events(name: str, unit: str, events: Sequence[Event] | None) -> tuple[tuple[int, float], ...]:
    if events is None:
        return ()
    out = []
    for i, ev in enumerate(events):
        try:
            minute, amount = ev
            minute, amount = float(minute), float(amount)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{name}[{i}] = {ev!r} is not a (minute, {unit}) pair of numbers.") from err
        if not math.isfinite(minute) or not math.isfinite(amount):
            raise ValueError(f"{name}[{i}] = {ev!r} is not finite. Fix: give finite (minute, {unit}) pairs.")
        if amount < 0:
            raise ValueError(
                f"{name}[{i}] = {ev!r}: a negative amount ({amount:g} {unit}) is not physical. Fix: use amounts >= 0."
            )
        if minute != round(minute):
            raise ValueError(
                f"{name}[{i}] = {ev!r}: event times are whole minutes of the simulation. "
                f"Fix: round the time to a minute."
            )
        out.append((round(minute), amount))
    return tuple(sorted(out))


@dataclass(frozen=True)
class Schedule:
    """Planned meals, insulin boluses and basal insulin, in minutes from the start of a simulation.

    Args:
        meals: ``(minute, grams of carbohydrate)`` pairs; a meal is eaten at most 5 g/min from its minute on.
        boluses: ``(minute, units of insulin)`` pairs; each bolus is delivered within its minute.
        basal: None for the patient's own steady-state basal rate; a number for a constant rate in U/h; or
            ``(minute, U/h)`` change points (a pump's basal profile; the rate before the first point is the
            patient's own).

    Example:
        >>> s = Schedule(meals=[(420, 45.0)], boluses=[(420, 4.5)], basal=None)
        >>> s.total_carbs_g
        45.0
    """

    meals: Sequence[Event] | None = ()
    boluses: Sequence[Event] | None = ()
    basal: float | Sequence[Event] | None = None
    _meals: tuple[tuple[int, float], ...] = field(init=False, repr=False)
    _boluses: tuple[tuple[int, float], ...] = field(init=False, repr=False)
    _basal: tuple[tuple[int, float], ...] | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_meals", _as_events("meals", "g", self.meals))
        object.__setattr__(self, "_boluses", _as_events("boluses", "U", self.boluses))
        basal = self.basal
        if basal is None:
            object.__setattr__(self, "_basal", None)
        elif isinstance(basal, int | float | np.floating | np.integer):
            object.__setattr__(self, "_basal", _as_events("basal", "U/h", [(0, float(basal))]))
        else:
            object.__setattr__(self, "_basal", _as_events("basal", "U/h", basal))

    @property
    def total_carbs_g(self) -> float:
        """All carbohydrate in the schedule, g."""
        return float(sum(a for _, a in self._meals))

    @property
    def uses_patient_basal(self) -> bool:
        """True when some minutes run on the patient's own steady-state basal rate."""
        return self._basal is None or self._basal[0][0] > 0

    def check_window(self, minutes: int) -> None:
        """Raise a ValueError naming any event outside ``[0, minutes)``."""
        for name, evs in (("meals", self._meals), ("boluses", self._boluses), ("basal", self._basal or ())):
            bad = [ev for ev in evs if not 0 <= ev[0] < minutes]
            if bad:
                raise ValueError(
                    f"{name} at minutes {[m for m, _ in bad]} fall outside the simulated window [0, {minutes}). "
                    f"Fix: simulate for more minutes, or drop or move those events."
                )

    def arrays(self, minutes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per-minute host arrays for ``minutes`` minutes.

        Returns:
            ``(cho_g, bolus_u, basal_u_per_h, own_basal)``, each of shape (minutes,): carbohydrate announced (g),
            bolus (U), the scheduled basal rate (U/h, 0 where ``own_basal``) and a 0/1 mask of minutes on the
            patient's own steady-state basal.
        """
        if int(minutes) != minutes or minutes <= 0:
            raise ValueError(f"minutes must be a positive whole number of minutes; got {minutes!r}.")
        self.check_window(minutes)
        cho = np.zeros(minutes)
        bolus = np.zeros(minutes)
        for m, a in self._meals:
            cho[m] += a
        for m, a in self._boluses:
            bolus[m] += a
        rate = np.zeros(minutes)
        own = np.ones(minutes)
        for m, a in self._basal or ():
            rate[m:] = a
            own[m:] = 0.0
        return cho, bolus, rate, own
