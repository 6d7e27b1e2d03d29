"""GlucoseRecord: validation of one person's observations, windows and splits."""

import numpy as np
import pytest

from twinlab.glucose import GlucoseRecord, Schedule


def _record() -> GlucoseRecord:
    return GlucoseRecord(
        np.arange(0.0, 600.0, 5.0),
        np.linspace(100.0, 200.0, 120),
        Schedule(meals=[(60, 40.0), (400, 20.0)], boluses=[(60, 4.0)], basal=[(100, 1.0), (300, 0.5)]),
        minutes=600,
        meal_carbs_sd_g=np.array([10.0, 5.0]),
        start="2021-01-01T06:00:00Z",
        subject="p1",
    )


def test_window_retimes_readings_events_and_carries_basal_forward():
    w = _record().window(200, 500)
    assert w.minutes == 300 and w.cgm_minute[0] == 0.0 and w.cgm_minute[-1] == 295.0
    assert w.schedule._meals == ((200, 20.0),) and w.schedule._boluses == ()
    assert w.schedule._basal == ((0, 1.0), (100, 0.5))
    assert w.meal_carbs_sd_g.tolist() == [5.0]
    assert w.start == "2021-01-01T09:20:00Z"


def test_split_keeps_every_reading_once():
    a, b = _record().split(333)
    assert a.n_readings + b.n_readings == 120
    assert a.schedule._basal == ((100, 1.0), (300, 0.5)) and b.schedule._basal == ((0, 0.5),)


@pytest.mark.parametrize(
    ("t", "y", "match"),
    [
        ([0.0, 5.0], [1.0], "same length"),
        ([0.0, 5.0], [1.0, np.nan], "finite"),
        ([5.0, 5.0], [1.0, 2.0], "strictly increasing"),
        ([0.0, 2.5], [1.0, 2.0], "whole minutes"),
        ([0.0, 700.0], [1.0, 2.0], "outside the record"),
    ],
)
def test_bad_readings_are_refused_with_the_reason(t, y, match):
    with pytest.raises(ValueError, match=match):
        GlucoseRecord(np.array(t), np.array(y), Schedule(), minutes=600)


def test_meal_uncertainty_must_match_the_meals():
    with pytest.raises(ValueError, match="one finite non-negative value per meal"):
        GlucoseRecord(np.array([0.0]), np.array([1.0]), Schedule(meals=[(1, 2.0)]), minutes=10, meal_carbs_sd_g=[])


def test_append_is_the_inverse_of_split():
    r = _record()
    a, b = r.split(333)
    joined = a.append(b)
    np.testing.assert_array_equal(joined.cgm_minute, r.cgm_minute)
    np.testing.assert_array_equal(joined.cgm_mg_dl, r.cgm_mg_dl)
    assert joined.schedule._meals == r.schedule._meals and joined.schedule._boluses == r.schedule._boluses
    assert joined.schedule.arrays(600)[2].tolist() == r.schedule.arrays(600)[2].tolist()
    np.testing.assert_array_equal(joined.meal_carbs_sd_g, r.meal_carbs_sd_g)
