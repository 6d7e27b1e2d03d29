"""The glucose dashboard's core (replay, assimilation, forecasts, what-ifs) and its Panel view, without a browser."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import twinlab as tl
from twinlab.dash import GlucoseStream, WhatIfControls, prior_ensemble, start_stream
from twinlab.dash._dashboard import simulated_record

pytestmark = pytest.mark.slow  # compiles the particle filter and the forecast (about a minute on 2 cores)


@pytest.fixture(scope="module")
def record() -> tl.glucose.GlucoseRecord:
    return simulated_record("adult#001", 300, seed=0)


@pytest.fixture
def stream(record: tl.glucose.GlucoseRecord) -> GlucoseStream:
    return start_stream(record, head_min=60, n_particles=200, step_min=15, horizon_min=90, seed=0)


def test_a_step_delivers_the_next_readings_on_the_twins_clock(stream: GlucoseStream, record) -> None:
    minute, mg_dl = stream.step()
    np.testing.assert_array_equal(minute, [60.0, 65.0, 70.0])
    np.testing.assert_array_equal(mg_dl, record.cgm_mg_dl[12:15])
    assert stream.twin.minutes == 75 and stream.twin.record.n_readings == 15
    assert stream.twin.posterior.method == "particle-filter" and stream.gate.startswith("gate:")


def test_the_replay_ends_with_the_record(stream: GlucoseStream) -> None:
    while not stream.done:
        stream.step()
    assert stream.twin.minutes == 300 and stream.steps == 16
    with pytest.raises(StopIteration):
        stream.step()


def test_what_ifs_move_the_forecast_the_way_physiology_says(stream: GlucoseStream) -> None:
    stream.step()
    planned, none = stream.forecast(WhatIfControls())
    assert none is None and planned.bg.shape == (200, 91) and planned.minute[0] == 75
    _, bolus = stream.forecast(WhatIfControls(bolus_u=5.0))
    _, meal = stream.forecast(WhatIfControls(meal_g=60.0, meal_in_min=10))
    _, faster = stream.forecast(WhatIfControls(parameter="Vmx", factor=2.0))
    end = planned.median()[-1]
    assert bolus is not None and meal is not None and faster is not None
    assert bolus.median()[-1] < end - 10.0  # more insulin, lower glucose
    assert meal.median()[-1] > end + 10.0  # carbohydrate raises it
    assert faster.median()[-1] < end  # more insulin-dependent uptake
    lo, hi = planned.bands(0.9)
    assert np.all(lo < hi)  # a band, not a line: the particles disagree


def test_bad_what_ifs_and_ensembles_are_refused(stream: GlucoseStream, record) -> None:
    with pytest.raises(ValueError, match="meal_in_min"):
        WhatIfControls(meal_g=10.0, meal_in_min=200).plan(90)
    with pytest.raises(ValueError, match="non-negative"):
        WhatIfControls(bolus_u=-1.0).plan(90)
    with pytest.raises(ValueError, match="personalised parameter"):
        stream.forecast(WhatIfControls(parameter="BW", factor=2.0))
    with pytest.raises(ValueError, match="at least 200"):
        prior_ensemble(tl.glucose.UVAPadova(), record, n_particles=50, key=jax.random.key(0))
    with pytest.raises(ValueError, match="head_min"):
        start_stream(record, head_min=300)


def test_the_panel_view_appends_readings_and_redraws_what_ifs(stream: GlucoseStream) -> None:
    from twinlab.dash import GlucoseDashboard

    dash = GlucoseDashboard(stream, population=None, period_ms=500)
    dash.live.value = False  # driven by hand here; the periodic callback is the browser tests' business
    n0 = len(dash.readings.data)
    assert dash.tick()
    assert len(dash.readings.data) == n0 + 3
    assert "readings: **15**" in dash.status.object and "what-if" not in dash.status.object
    dash.bolus.value = 4.0
    assert "what-if (4 U now, 0 g in 0 min)" in dash.status.object and len(dash.changed.data) == 91
    assert dash.controls() == WhatIfControls(bolus_u=4.0)
    view = dash.__panel__()
    assert "Glucose twin" in view[0].object
    with pytest.raises(ValueError, match="period_ms"):
        GlucoseDashboard(stream, period_ms=10)


def test_a_real_record_replays_into_the_twin(real_data) -> None:
    record = tl.data.real_records("d1namo")["d1namo/1"]
    stream = start_stream(record, head_min=60, n_particles=200, step_min=15, horizon_min=90, seed=0)
    for _ in range(4):
        minute, mg_dl = stream.step()
        assert minute.size and np.all((mg_dl > 20.0) & (mg_dl < 500.0))
    assert stream.twin.minutes == 120 and stream.twin.record.source == record.source
    planned, _ = stream.forecast()
    assert np.all(np.isfinite(planned.bg))


def test_the_population_view_has_one_row_per_patient() -> None:
    from twinlab.dash import POPULATION_COLUMNS, GlucoseDashboard, population_metrics

    table = population_metrics(["adult#001", "child#001"], minutes=180, seed=0)
    assert list(table.index) == ["adult#001", "child#001"] and list(table.columns) == list(POPULATION_COLUMNS)
    assert np.all((table["tir_70_180_percent"] >= 0) & (table["tir_70_180_percent"] <= 100))
    with pytest.raises(ValueError, match="at least 60"):
        population_metrics(["adult#001"], minutes=10)
    stream = start_stream(simulated_record("adult#002", 120), head_min=60, n_particles=200, horizon_min=30)
    dash = GlucoseDashboard(stream, population=table)
    dash.live.value = False
    tabs = dash.__panel__()[1]
    assert list(tabs._names) == ["live twin", "population"]
