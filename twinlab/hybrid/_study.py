"""A fixed exercise study for one virtual patient: training days and held-out days with sessions at other times.

Every day has three meals with boluses from the patient's carbohydrate ratio; some days have exercise sessions
``(start minute, minutes, heart rate in bpm)``. The held-out days put sessions at times and intensities that no
training day has, and one held-out day has none, to check that the learned part does no harm without exercise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from twinlab.glucose import ExerciseParams, ExerciseUVAPadova, PatientParams, Schedule
from twinlab.hybrid._data import Days, simulate_days

Meals = tuple[tuple[int, float], ...]
Sessions = tuple[tuple[int, int, float], ...]

#: Training days: (meals as (minute, g), exercise sessions as (start minute, minutes, bpm)); the first is a rest day.
TRAIN_DAYS: tuple[tuple[Meals, Sessions], ...] = (
    (((440, 45.0), (730, 65.0), (1130, 85.0)), ()),
    (((420, 50.0), (750, 70.0), (1110, 80.0)), ((600, 45, 120.0),)),
    (((450, 40.0), (720, 60.0), (1140, 90.0)), ((900, 60, 105.0), (1200, 30, 140.0))),
    (((400, 60.0), (780, 75.0), (1080, 70.0)), ((480, 40, 130.0),)),
)
#: Held-out days: exercise in the late afternoon and after breakfast, then a rest day.
HELD_OUT_DAYS: tuple[tuple[Meals, Sessions], ...] = (
    (((400, 50.0), (700, 60.0), (1150, 70.0)), ((1000, 50, 125.0),)),
    (((430, 55.0), (740, 65.0), (1100, 85.0)), ((540, 40, 110.0),)),
    (((410, 45.0), (760, 70.0), (1120, 75.0)), ()),
)


@dataclass(frozen=True)
class Study:
    """The data of the study.

    Attributes:
        truth: the "reality" parameters that generated the data.
        train: the training days.
        held_out: the held-out days (the last one without exercise).
    """

    truth: ExerciseParams
    train: Days
    held_out: Days


def _schedule(meals: Meals, patient: PatientParams) -> Schedule:
    ratio = float(patient.therapy.carb_ratio_g_per_u)
    return Schedule(meals=meals, boluses=[(minute, grams / ratio) for minute, grams in meals])


def _days(spec: Sequence[tuple[Meals, Sessions]], truth: ExerciseParams, cgm_sd_mg_dl: float, seed: int) -> Days:
    schedules = [_schedule(meals, truth.patient) for meals, _ in spec]
    return simulate_days(
        ExerciseUVAPadova(), truth, schedules, [s for _, s in spec], cgm_sd_mg_dl=cgm_sd_mg_dl, seed=seed
    )


def exercise_study(
    patient: PatientParams, *, train_days: int = len(TRAIN_DAYS), cgm_sd_mg_dl: float = 6.0, seed: int = 0
) -> Study:
    """Simulate the study for ``patient`` with this package's synthetic exercise effect (`ExerciseParams.default`).

    Args:
        patient: one patient's parameters.
        train_days: how many of `TRAIN_DAYS` to use (from the first; 2 gives a rest day and an exercise day).
        cgm_sd_mg_dl: standard deviation of the Gaussian CGM noise, mg/dL.
        seed: seed of the CGM noise (the held-out days use ``seed + 1``).

    Returns:
        A `Study`.
    """
    if not 1 <= train_days <= len(TRAIN_DAYS):
        raise ValueError(f"train_days must be between 1 and {len(TRAIN_DAYS)}; got {train_days}.")
    truth = ExerciseParams.default(patient)
    return Study(
        truth=truth,
        train=_days(TRAIN_DAYS[:train_days], truth, cgm_sd_mg_dl, seed),
        held_out=_days(HELD_OUT_DAYS, truth, cgm_sd_mg_dl, seed + 1),
    )
