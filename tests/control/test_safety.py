"""The safety layer: no request passes the caps (property tests), and its behaviour under sensor faults."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import twinlab as tl
from twinlab import control

H = 20
S = 3  # Dexcom: a reading and a decision every 3 minutes
LAYER = control.SafetyLayer.for_age_group(None, "adult")
FILTER = jax.jit(LAYER.filter)


def obs_of(cgm, *, age=0.0, iob=0.0, carbs=0.0, basal=1.0, cr=10.0, cf=40.0) -> control.Observation:
    return control.Observation.of(
        cgm, cgm_age_min=age, iob_u=iob, carbs_g=carbs, basal_u_per_h=basal, carb_ratio_g_per_u=cr,
        correction_mg_dl_per_u=cf,
    )  # fmt: skip


readings = st.one_of(st.floats(20.0, 700.0), st.just(float("nan")))
# XLA on CPU flushes subnormal floats to zero, so a request of 1e-311 U would arrive as 0 before the layer sees it.
requests = st.one_of(st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=False), st.floats(-5.0, 100.0))


@settings(max_examples=300, deadline=None)
@given(
    cgm=st.lists(readings, min_size=H, max_size=H),
    age=st.floats(0.0, 60.0),
    iob=st.floats(0.0, 60.0),
    basal=st.floats(0.05, 5.0),
    basal_req=requests,
    bolus_req=requests,
)
def test_no_request_passes_the_caps(cgm, age, iob, basal, basal_req, bolus_req) -> None:
    obs = obs_of(cgm, age=age, iob=iob, basal=basal)
    dose, audit = FILTER(obs, control.Dose(jnp.float64(basal_req), jnp.float64(bolus_req)))
    b, u = float(dose.basal_u_per_h), float(dose.bolus_u)
    assert np.isfinite(b) and np.isfinite(u) and b >= 0 and u >= 0
    assert b <= min(10.0, 3.0 * basal) + 1e-12  # adult hard cap and oref0's multiplier
    assert u <= 17.0 + 1e-12
    excess = max(b - basal, 0.0) * S / 60 + u  # insulin above the scheduled basal this decision adds
    assert excess <= max(22.0 - iob, 0.0) + 1e-9
    reasons = control.reason_names(int(audit.reasons))
    if {"missing_cgm", "stale_cgm", "implausible_cgm", "cgm_jump", "flat_cgm"} & set(reasons):
        assert u == 0.0 and b <= basal + 1e-12  # no new insulin on bad data
    if "low_glucose_suspend" in reasons:
        assert u == 0.0 and b == 0.0
    if (b, u) != (basal_req, bolus_req):
        assert reasons, "every change is audited with its reason"


def test_age_groups_and_unknown_group() -> None:
    child = control.SafetyLayer.for_age_group(None, "child")
    dose, audit = child.filter(
        obs_of(np.linspace(190.0, 200.0, H), basal=1.0), control.Dose(jnp.float64(9.0), jnp.float64(30.0))
    )
    assert float(dose.bolus_u) == pytest.approx(5.0) and float(dose.basal_u_per_h) == pytest.approx(2.0)
    assert control.reason_names(int(audit.reasons)) == ["max_basal", "max_bolus"]
    with pytest.raises(ValueError, match="unknown age_group 'toddler'"):
        control.SafetyLayer.for_age_group(None, "toddler")


@pytest.fixture(scope="module")
def cgm_trace() -> np.ndarray:
    """A day of simulated Dexcom readings (adult#001, basal-bolus, three meals), one per decision."""
    traj = tl.glucose.simulate_closed_loop(
        tl.glucose.UVAPadova(),
        tl.glucose.patient("adult#001"),
        tl.glucose.BasalBolus(),
        tl.glucose.Schedule(meals=[(420, 50.0), (720, 70.0), (1110, 80.0)]),
        1440,
        key=jax.random.key(3),
    )
    return np.asarray(traj.cgm)[::S]


def run(trace: np.ndarray, ages: np.ndarray | None = None, carbs_at: int = -1) -> tuple[np.ndarray, ...]:
    """Filter a basal-bolus-like request (basal 2 U/h, a 5 U bolus at ``carbs_at``) at every decision of a trace."""
    n = len(trace) - H
    windows = np.stack([trace[i : i + H] for i in range(n)])
    ages = np.zeros(n) if ages is None else ages
    obs = obs_of(windows, age=ages)
    bolus = np.where(np.arange(n) == carbs_at, 5.0, 0.0)
    dose, audit = jax.jit(jax.vmap(LAYER.filter))(obs, control.Dose(jnp.full(n, 2.0), jnp.asarray(bolus)))
    return np.asarray(dose.basal_u_per_h), np.asarray(dose.bolus_u), np.asarray(audit.reasons)


def at(j: int) -> int:
    """The decision whose newest reading is reading j."""
    return j - H + 1


def has(reasons: np.ndarray, name: str) -> np.ndarray:
    return (reasons & (1 << control.REASONS.index(name))) != 0


def test_clean_data_rarely_trips_the_data_checks(cgm_trace) -> None:
    _, _, reasons = run(cgm_trace)
    data_bits = sum(1 << control.REASONS.index(n) for n in ("missing_cgm", "stale_cgm", "cgm_jump", "flat_cgm"))
    assert np.mean((reasons & data_bits) != 0) < 0.02


def test_dropout_stops_new_insulin_until_readings_return(cgm_trace) -> None:
    trace = cgm_trace.copy()
    trace[200:210] = np.nan  # 30 minutes without readings
    basal, bolus, reasons = run(trace, carbs_at=at(203))
    during = slice(at(200), at(210))
    assert has(reasons[during], "missing_cgm").all()
    assert (bolus[during] == 0).all() and (basal[during] <= 1.0).all()  # the scheduled basal at most
    assert not has(reasons[at(210) :], "missing_cgm").any()
    assert not has(reasons[: at(200)], "missing_cgm").any()


def test_stale_reading_is_refused(cgm_trace) -> None:
    n = len(cgm_trace) - H
    ages = np.zeros(n)
    ages[100:110] = np.arange(3, 33, 3)  # no new reading for 30 minutes
    basal, bolus, reasons = run(cgm_trace, ages=ages, carbs_at=108)
    assert has(reasons[100:110], "stale_cgm").tolist() == [a > 12 for a in ages[100:110]]
    assert bolus[108] == 0 and basal[108] <= 1.0


def test_compression_low_is_a_jump_not_a_reason_to_dose(cgm_trace) -> None:
    trace = cgm_trace.copy()
    trace[300:306] -= 70.0  # lying on the sensor: a sudden 70 mg/dL drop for 18 minutes
    basal, bolus, reasons = run(trace)
    assert has(reasons[at(300)], "cgm_jump") and has(reasons[at(306)], "cgm_jump")
    drop = slice(at(300), at(306))  # no insulin above the scheduled basal while the reading is falsely low
    assert (basal[drop] <= 1.0).all() and (bolus[drop] == 0).all()


def test_flat_line_is_a_stuck_sensor(cgm_trace) -> None:
    trace = cgm_trace.copy()
    trace[150:175] = trace[150]  # 75 minutes of one repeated value
    _, _, reasons = run(trace)
    flat = has(reasons, "flat_cgm")
    window = int(45 / S) + 1
    assert flat[at(150 + window - 1) : at(175)].all()
    assert not flat[: at(150 + window - 1)].any()


def test_jump_up_gives_no_bolus(cgm_trace) -> None:
    trace = cgm_trace.copy()
    trace[250:] += 90.0  # recalibration step
    _, bolus, reasons = run(trace, carbs_at=at(250))
    assert has(reasons[at(250)], "cgm_jump") and bolus[at(250)] == 0


def test_low_glucose_suspends_all_insulin(cgm_trace) -> None:
    trace = np.linspace(140.0, 62.0, len(cgm_trace))  # a steady fall to 62 mg/dL
    basal, bolus, reasons = run(trace, carbs_at=len(trace) - H - 1)
    low = has(reasons, "low_glucose_suspend")
    assert low[-1] and basal[-1] == 0 and bolus[-1] == 0
    assert not low[0]


def test_audit_table_lists_each_change(cgm_trace) -> None:
    trace = cgm_trace.copy()
    trace[200:210] = np.nan
    n = len(trace) - H
    windows = jnp.asarray(np.stack([trace[i : i + H] for i in range(n)]))
    obs = obs_of(windows)
    _, audit = jax.jit(jax.vmap(LAYER.filter))(obs, control.Dose(jnp.full(n, 2.0), jnp.zeros(n)))
    table = control.audit_table(audit, S, names=["adult#001"])
    missing = table[table.reasons.str.contains("missing_cgm")]
    assert len(missing) == 10 and (missing.delivered_basal_u_per_h <= 1.0).all()
    assert set(table.columns) >= {"person", "minute", "requested_basal_u_per_h", "delivered_bolus_u", "reasons"}


def test_each_patient_gets_the_limits_of_their_age_group() -> None:
    names = ["adult#001", "child#008"]
    safe = control.SafetyLayer.for_patients(control.BasalBolus(), names)
    np.testing.assert_array_equal(np.asarray(safe.max_bolus_u), [17.0, 5.0])
    np.testing.assert_array_equal(np.asarray(safe.max_iob_u), [22.0, 7.0])
    with pytest.raises(ValueError, match="unknown age_group 'elder'"):
        control.SafetyLayer.for_patients(control.BasalBolus(), ["elder#001"])
    result = control.evaluate(safe, names, days=1, seed=0, stacked=True)
    bolus = np.asarray(result.episodes.dose.bolus_u)
    assert bolus[1].max() <= 5.0 < bolus[0].max()  # the child's meal boluses are capped at 5 U, the adult's are not
