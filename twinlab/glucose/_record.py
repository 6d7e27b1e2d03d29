"""`GlucoseRecord`: one person's observations in the form personalisation, forecasting and assimilation take."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from twinlab.glucose._schedule import Schedule


@dataclass(frozen=True)
class GlucoseRecord:
    """One person's CGM readings and the meals and insulin around them, on a clock of whole minutes from ``start``.

    Times are minutes since ``start`` (minute 0 is the start of the record, the twin's initial state). Readings need
    not be evenly spaced (5-minute and 15-minute sensors both fit) but are strictly increasing whole minutes.

    Args:
        cgm_minute: (n,) reading times, minutes since ``start``.
        cgm_mg_dl: (n,) sensor glucose, mg/dL; finite.
        schedule: meals (carbohydrate g, estimated where the source gives none), boluses (U) and basal (U/h).
        minutes: length of the record, minutes; every reading and event lies in ``[0, minutes)``.
        meal_carbs_sd_g: (n_meals,) standard deviation of each meal's carbohydrate estimate, g, in the order of
            ``schedule``'s meals sorted by time (0 where the amount is known). None when all amounts are known.
        start: the wall-clock time of minute 0 (ISO 8601, UTC), or None for simulated data.
        subject: who the record belongs to.
        source: where the data came from (data set and file).

    Example:
        >>> r = GlucoseRecord(np.array([0.0, 5.0]), np.array([120.0, 124.0]), Schedule(meals=[(2, 30.0)]), minutes=10)
        >>> r.n_readings, r.split(5)[1].cgm_minute.tolist()
        (2, [0.0])
    """

    cgm_minute: np.ndarray
    cgm_mg_dl: np.ndarray
    schedule: Schedule
    minutes: int
    meal_carbs_sd_g: np.ndarray | None = None
    start: str | None = None
    subject: str = ""
    source: str = ""
    _meals: tuple[tuple[int, float], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        t = np.asarray(self.cgm_minute, dtype=np.float64)
        y = np.asarray(self.cgm_mg_dl, dtype=np.float64)
        if t.ndim != 1 or t.shape != y.shape:
            raise ValueError(
                f"cgm_minute and cgm_mg_dl must be 1-D arrays of the same length; got shapes {t.shape} and {y.shape}."
            )
        if not np.all(np.isfinite(y)) or not np.all(np.isfinite(t)):
            raise ValueError("CGM readings and times must be finite. Fix: quarantine or drop the bad rows first.")
        if np.any(t != np.round(t)) or np.any(np.diff(t) <= 0):
            raise ValueError(
                "cgm_minute must be strictly increasing whole minutes. Fix: align the readings to the minute grid and "
                "resolve duplicates before building a record."
            )
        if int(self.minutes) != self.minutes or self.minutes <= 0:
            raise ValueError(f"minutes must be a positive whole number; got {self.minutes!r}.")
        if t.size and (t[0] < 0 or t[-1] >= self.minutes):
            raise ValueError(f"readings at minutes {t[0]:g}..{t[-1]:g} fall outside the record [0, {self.minutes}).")
        self.schedule.check_window(int(self.minutes))
        meals = self.schedule._meals
        sd = self.meal_carbs_sd_g
        if sd is not None:
            sd = np.asarray(sd, dtype=np.float64)
            if sd.shape != (len(meals),) or not np.all(np.isfinite(sd)) or np.any(sd < 0):
                raise ValueError(
                    f"meal_carbs_sd_g must hold one finite non-negative value per meal ({len(meals)}); got {sd!r}."
                )
        object.__setattr__(self, "cgm_minute", t)
        object.__setattr__(self, "cgm_mg_dl", y)
        object.__setattr__(self, "minutes", int(self.minutes))
        object.__setattr__(self, "meal_carbs_sd_g", sd)
        object.__setattr__(self, "_meals", meals)

    @property
    def n_readings(self) -> int:
        """Number of CGM readings."""
        return int(self.cgm_minute.size)

    def window(self, start_minute: int, end_minute: int) -> GlucoseRecord:
        """The readings and events in ``[start_minute, end_minute)``, re-timed so that ``start_minute`` is minute 0.

        Basal change points before the window carry forward: the rate in force at ``start_minute`` starts the window.
        """
        if not 0 <= start_minute < end_minute <= self.minutes:
            raise ValueError(f"window [{start_minute}, {end_minute}) must lie inside the record [0, {self.minutes}).")
        keep = (self.cgm_minute >= start_minute) & (self.cgm_minute < end_minute)
        s = self.schedule

        def inside(events: tuple[tuple[int, float], ...]) -> list[tuple[int, float]]:
            return [(m - start_minute, a) for m, a in events if start_minute <= m < end_minute]

        basal: float | list[tuple[int, float]] | None = None
        if s._basal is not None:
            before = [(m, a) for m, a in s._basal if m <= start_minute]
            points = ([(0, before[-1][1])] if before else []) + [
                (m - start_minute, a) for m, a in s._basal if start_minute < m < end_minute
            ]
            basal = points or None
        meal_mask = [start_minute <= m < end_minute for m, _ in self._meals]
        sd = None if self.meal_carbs_sd_g is None else self.meal_carbs_sd_g[np.array(meal_mask, dtype=bool)]
        start = self.start
        if start is not None:
            start = (np.datetime64(start.rstrip("Z")) + np.timedelta64(start_minute, "m")).astype(str) + "Z"
        return GlucoseRecord(
            self.cgm_minute[keep] - start_minute,
            self.cgm_mg_dl[keep],
            Schedule(meals=inside(s._meals), boluses=inside(s._boluses), basal=basal),
            minutes=end_minute - start_minute,
            meal_carbs_sd_g=sd,
            start=start,
            subject=self.subject,
            source=self.source,
        )

    def split(self, minute: int) -> tuple[GlucoseRecord, GlucoseRecord]:
        """``(before, after)``: the record cut at ``minute``; the second part is re-timed to start at 0."""
        return self.window(0, minute), self.window(minute, self.minutes)

    def append(self, later: GlucoseRecord) -> GlucoseRecord:
        """This record followed by ``later`` (whose minute 0 is this record's end), as one record.

        Basal: ``later``'s change points are shifted; when ``later`` has none (its own basal) but this record ran on
        scheduled rates, the last rate carries forward, as a pump keeps its last setting.
        """
        shift = self.minutes
        a, b = self.schedule, later.schedule
        basal: list[tuple[int, float]] | None
        if a._basal is None and b._basal is None:
            basal = None
        elif b._basal is None:
            basal = list(a._basal or ())
        else:
            basal = list(a._basal or ()) + [(m + shift, r) for m, r in b._basal]
            if a._basal is None and b._basal[0][0] == 0 and shift > 0:
                basal = [(m + shift, r) for m, r in b._basal]
        sds = [np.zeros(len(r._meals)) if r.meal_carbs_sd_g is None else r.meal_carbs_sd_g for r in (self, later)]
        has_sd = self.meal_carbs_sd_g is not None or later.meal_carbs_sd_g is not None
        return GlucoseRecord(
            np.concatenate([self.cgm_minute, later.cgm_minute + shift]),
            np.concatenate([self.cgm_mg_dl, later.cgm_mg_dl]),
            Schedule(
                meals=list(a._meals) + [(m + shift, g) for m, g in b._meals],
                boluses=list(a._boluses) + [(m + shift, u) for m, u in b._boluses],
                basal=basal,
            ),
            minutes=self.minutes + later.minutes,
            meal_carbs_sd_g=np.concatenate(sds) if has_sd else None,
            start=self.start,
            subject=self.subject,
            source=self.source,
        )
