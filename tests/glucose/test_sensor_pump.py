"""The CGM sensor and insulin pump against simglucose's own, and the WithSensor / WithPump model wrappers."""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import twinlab as tl
from twinlab.glucose._pump import InsulinPump, PumpInputs, WithPump
from twinlab.glucose._sensor import CGMSensor, WithSensor

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from simglucose.actuator.pump import InsulinPump as RefPump
    from simglucose.sensor.cgm import CGMSensor as RefSensor
    from simglucose.sensor.noise_gen import CGMNoise


def _lag_corr(x: np.ndarray, lag: int) -> np.ndarray:
    """Per-sequence autocorrelation at ``lag`` samples, shape (n_sequences,)."""
    return np.array([np.corrcoef(r[:-lag], r[lag:])[0, 1] for r in x])


@pytest.mark.parametrize("name", ["Dexcom", "GuardianRT", "Navigator"])
def test_noise_from_normals_reproduces_the_reference_stream(name: str) -> None:
    """Fed numpy's draws for a seed, the noise equals simglucose's CGMNoise for that seed, reading by reading."""
    sensor = CGMSensor.named(name)
    params = RefSensor.withName(name)._params
    assert sensor.sample_time_min == int(params["sample_time"])
    minutes = 1000
    for seed in (0, 7):
        gen = CGMNoise(params, seed=seed)
        ref = np.array([next(gen) for _ in range(minutes // sensor.sample_time_min + 1)])
        normals = np.random.RandomState(seed).randn(sensor.normals_needed(minutes))
        ours = np.asarray(sensor.noise_from_normals(jnp.asarray(normals), minutes))
        np.testing.assert_allclose(ours[:: sensor.sample_time_min], ref, rtol=0, atol=1e-9)


def test_noise_statistics_match_the_reference_generator() -> None:
    """JAX's stream: same mean, sd and autocorrelation at the sample time as the reference's, within 5 std errors."""
    sensor = CGMSensor.named("Dexcom")
    params = RefSensor.withName("Dexcom")._params
    n_seq, n_read = 100, 1500
    ref = np.stack([[next(g) for _ in range(n_read)] for g in (CGMNoise(params, seed=s) for s in range(n_seq))])
    keys = jax.random.split(jax.random.key(20250101), n_seq)
    minutes = (n_read - 1) * sensor.sample_time_min
    ours = np.asarray(jax.vmap(lambda k: sensor.noise(minutes, key=k))(keys))[:, :: sensor.sample_time_min]
    assert ours.shape == ref.shape
    # Standard errors from the spread between independent sequences (the noise is autocorrelated within one).
    for stat in (
        lambda x: x.mean(axis=1),
        lambda x: x.std(axis=1),
        lambda x: _lag_corr(x, 1),
        lambda x: _lag_corr(x, 5),  # one 15-minute grid step
    ):
        a, b = stat(ref), stat(ours)
        se = np.sqrt(a.var() / n_seq + b.var() / n_seq)
        assert abs(a.mean() - b.mean()) < 5 * se, (a.mean(), b.mean(), se)
    assert 10 < ours.std() < 14 and -2 < ours.mean() < 3  # the Dexcom noise: sd about 11.7 mg/dL, mean about 0.6


def test_readings_change_only_at_sample_times_and_hold_between() -> None:
    sensor = CGMSensor.named("GuardianRT")  # 5-minute readings
    bg = jnp.linspace(100.0, 200.0, 61)
    cgm = np.asarray(sensor.measure(bg, key=jax.random.key(1)))
    changes = np.nonzero(np.diff(cgm))[0] + 1
    assert set(changes.tolist()) <= set(range(0, 61, 5)) and len(changes) == 12
    noise = np.asarray(sensor.noise(60, key=jax.random.key(1)))
    np.testing.assert_allclose(cgm[::5], np.asarray(bg)[::5] + noise[::5], rtol=1e-12)
    # Without noise a reading is the glucose of its sample time, held.
    np.testing.assert_allclose(np.asarray(sensor.read(bg, 0.0))[7], float(bg[5]), rtol=1e-12)


def test_readings_are_clipped_to_the_sensor_range() -> None:
    sensor = CGMSensor.named("Dexcom")
    keys = jax.random.split(jax.random.key(2), 50)
    near_low = np.asarray(jax.vmap(lambda k: sensor.measure(jnp.full(31, 45.0), key=k))(keys))
    near_high = np.asarray(jax.vmap(lambda k: sensor.measure(jnp.full(31, 595.0), key=k))(keys))
    assert near_low.min() == 39.0 and near_low.max() > 39.0 and np.mean(near_low == 39.0) > 0.05
    assert near_high.max() == 600.0 and near_high.min() < 600.0 and np.mean(near_high == 600.0) > 0.05
    far = np.asarray(sensor.measure(jnp.stack([jnp.full(31, -1000.0), jnp.full(31, 2000.0)]), key=keys[0]))
    assert np.all(far[0] == 39.0) and np.all(far[1] == 600.0)
    assert float(CGMSensor.named("Navigator").measure(jnp.full(3, 0.0), key=keys[0])[0]) == 32.0


def test_sensors_from_different_keys_are_independent_and_jit_works() -> None:
    sensor = CGMSensor.named("Dexcom")
    bg = jnp.full((8, 3001), 140.0)
    by_rows = np.asarray(sensor.measure(bg, key=jax.random.key(3))) - 140.0
    keys = jax.random.split(jax.random.key(4), 8)
    by_vmap = np.asarray(jax.vmap(lambda k: sensor.measure(bg[0], key=k))(keys)) - 140.0
    for noise in (by_rows, by_vmap):
        corr = np.corrcoef(noise[:, ::15])
        assert np.abs(corr[np.triu_indices(8, 1)]).max() < 0.3  # independent: near zero (about 200 eff. samples)
        assert np.all(noise.std(axis=1) > 3)
    jitted = jax.jit(lambda b, k: sensor.measure(b, key=k))
    np.testing.assert_allclose(jitted(bg[0], keys[0]), by_vmap[0] + 140.0, rtol=1e-12)


def test_bad_sensor_configuration_is_refused() -> None:
    with pytest.raises(ValueError, match=r"Unknown CGM sensor 'Dexcon'.*Did you mean 'Dexcom'.*Navigator"):
        CGMSensor.named("Dexcon")
    with pytest.raises(ValueError, match="sample_time_min"):
        CGMSensor.named("Dexcom").replace(sample_time_min=0)
    with pytest.raises(ValueError, match="normals_needed"):
        CGMSensor.named("Dexcom").noise_from_normals(jnp.zeros(3), 1440)


@pytest.mark.parametrize("name", ["Cozmo", "Insulet"])
def test_pump_matches_the_reference_pump(name: str) -> None:
    pump, ref = InsulinPump.named(name), RefPump.withName(name)
    rng = np.random.default_rng(0)
    grid = np.concatenate(
        [
            np.linspace(-1.0, 80.0, 801),
            rng.uniform(0, 0.05, 500),
            np.arange(0, 200) * 0.05 / 6000 + 0.025 / 6000,  # near rounding ties
        ]
    )
    for ours_fn, ref_fn in ((pump.basal, ref.basal), (pump.bolus, ref.bolus)):
        ours = np.asarray(ours_fn(jnp.asarray(grid)))
        expected = np.array([ref_fn(a) for a in grid])
        assert np.allclose(ours, expected, rtol=1e-12, atol=1e-15)


def test_pump_straight_through_gradient() -> None:
    exact = InsulinPump.named("Insulet")
    st = InsulinPump.named("Insulet", straight_through=True)
    inside = jnp.array([0.003, 0.0213, 1.7, 29.5])
    np.testing.assert_allclose(jax.vmap(jax.grad(st.basal))(inside), 1.0)
    np.testing.assert_allclose(jax.vmap(jax.grad(st.bolus))(inside), 1.0)
    np.testing.assert_allclose(jax.vmap(jax.grad(exact.basal))(inside), 0.0)
    outside = jnp.array([-0.5, 31.0])
    np.testing.assert_allclose(jax.vmap(jax.grad(st.basal))(outside), 0.0)
    np.testing.assert_allclose(st.basal(inside), exact.basal(inside), rtol=1e-12)
    with pytest.raises(ValueError, match=r"Unknown insulin pump 'Omnipod'.*Cozmo, Insulet"):
        InsulinPump.named("Omnipod")


def test_stacked_wrappers_delegate_and_read_the_cgm() -> None:
    """WithSensor(WithPump(UVAPadova())) with the patient's basal: bg as open loop, cgm as sensor.read(bg)."""
    sensor, pump = CGMSensor.named("Dexcom"), InsulinPump.named("Insulet")
    model = WithSensor(model=WithPump(model=tl.glucose.UVAPadova(), pump=pump), sensor=sensor)
    assert model.state_names == tl.glucose.UVAPadova.state_names and model.time_unit == "min"
    assert model.output_units["cgm"] == "mg/dL" and model.output_units["bg"] == "mg/dL"
    p = tl.glucose.patient("adult#002")
    minutes = 300
    cho = jnp.zeros(minutes).at[60].set(50.0)
    bolus = jnp.zeros(minutes).at[60].set(5.0)
    inner = PumpInputs(cho_g=cho, basal_u_per_min=jnp.full(minutes, p.basal_u_per_min), bolus_u_per_min=bolus)
    noise = sensor.noise(minutes, key=jax.random.key(5), dtype=cho.dtype)
    state0, inputs = model.start(p, inner, noise)
    traj = tl.sim.simulate_one(model, p, inputs, solver=tl.glucose.DEFAULT_SOLVER, state0=state0)
    open_loop = tl.glucose.simulate(
        tl.glucose.UVAPadova(), p, tl.glucose.Schedule(meals=[(60, 50.0)], boluses=[(60, 5.0)]), minutes
    )
    assert np.abs(np.asarray(traj.bg) - np.asarray(open_loop.bg)).max() < 1e-3  # pump rounding only
    np.testing.assert_allclose(traj.cgm, sensor.read(traj.bg, noise), rtol=1e-12)
    delivered = np.asarray(traj.insulin_u_per_min)
    assert delivered[61] == pytest.approx(float(pump.basal(p.basal_u_per_min)) + 5.0, rel=1e-12)
    assert model.population_size(tl.glucose.patients(["adult#001", "adult#002"])) == 2
