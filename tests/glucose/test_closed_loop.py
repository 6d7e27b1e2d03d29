"""Closed loop (CGM, pump, controller) against simglucose's own T1DSimEnv, populations, jit cache, bad inputs."""

from __future__ import annotations

import warnings
from datetime import datetime, timedelta

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import twinlab as tl
from twinlab.glucose._closed_loop import _run_closed_loop, simulate_closed_loop
from twinlab.glucose._controllers import PID, BasalBolus
from twinlab.glucose._pump import InsulinPump, PumpInputs, WithPump
from twinlab.glucose._sensor import CGMSensor, WithSensor

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from simglucose.actuator.pump import InsulinPump as RefPump
    from simglucose.controller.basal_bolus_ctrller import BBController
    from simglucose.controller.pid_ctrller import PIDController
    from simglucose.patient.t1dpatient import T1DPatient
    from simglucose.sensor.cgm import CGMSensor as RefSensor
    from simglucose.simulation.env import T1DSimEnv
    from simglucose.simulation.scenario import CustomScenario

MODEL = tl.glucose.UVAPadova()
MEALS = [(420, 45.0), (720, 70.0), (1080, 80.0)]
# twinlab integrates with RK4 (2 sub-steps per minute), the reference with dopri5: they agree to about 1e-4 mg/dL.
TOLERANCE_MG_DL = 0.01 if jnp.zeros(()).dtype == jnp.float64 else 0.5


class NoiselessCGM(RefSensor):
    """The reference sensor with its noise zeroed: the clipped BG (Gsub) at sample times, held in between."""

    def measure(self, patient):
        if patient.t % self.sample_time == 0:
            self._last_CGM = min(max(patient.observation.Gsub, self._params["min"]), self._params["max"])
        return self._last_CGM


def _reference_env(
    name: str, meals: list[tuple[int, float]], minutes: int, controller, sensor: RefSensor | None = None
) -> dict[str, np.ndarray]:
    """Run simglucose's env loop (as SimObj.simulate); returns the instantaneous BG at each sample time too."""
    start = datetime(2025, 1, 1, 0, 0)
    scenario = CustomScenario(start_time=start, scenario=[(timedelta(minutes=m), g) for m, g in meals])
    sensor = NoiselessCGM.withName("Dexcom") if sensor is None else sensor
    env = T1DSimEnv(T1DPatient.withName(name), sensor, RefPump.withName("Insulet"), scenario)
    controller.reset()
    obs, reward, done, info = env.reset()
    bg = [env.patient.observation.Gsub]
    while env.time < start + timedelta(minutes=minutes):
        obs, reward, done, info = env.step(controller.policy(obs, reward, done, **info))
        bg.append(env.patient.observation.Gsub)
    return {
        "bg": np.array(bg),
        "BG": np.array(env.BG_hist),
        "CGM": np.array(env.CGM_hist),
        "insulin": np.array(env.insulin_hist),
    }


def _period_means(x: np.ndarray, s: int) -> np.ndarray:
    """What T1DSimEnv records: the first value, then the mean over each sample period (minutes t-s+1..t)."""
    return np.concatenate([x[:1], x[1:].reshape(-1, s).mean(axis=1)])


def _compare(traj: tl.sim.Trajectory, ref: dict[str, np.ndarray], first_cgm: int = 0) -> None:
    bg, cgm, ins = (np.asarray(v) for v in (traj.bg, traj.cgm, traj.insulin_u_per_min))
    err = np.abs(bg[::3] - ref["bg"])
    assert err.max() < TOLERANCE_MG_DL, f"max |BG error| {err.max():.2e} mg/dL at minute {3 * err.argmax()}"
    np.testing.assert_array_less(np.abs(_period_means(bg, 3) - ref["BG"]), TOLERANCE_MG_DL)
    cgm_err = np.abs(_period_means(cgm, 3) - ref["CGM"])[first_cgm:]
    np.testing.assert_array_less(cgm_err, TOLERANCE_MG_DL)
    np.testing.assert_allclose(ins[1:].reshape(-1, 3).mean(axis=1), ref["insulin"], rtol=1e-6, atol=1e-9)


def test_basal_bolus_matches_the_reference_env() -> None:
    """BasalBolus + Dexcom (noise off) + Insulet on adult#001 for a day = simglucose's BBController in T1DSimEnv."""
    traj = simulate_closed_loop(
        MODEL, tl.glucose.patient("adult#001"), BasalBolus(), tl.glucose.Schedule(meals=MEALS), 1440, sensor_noise=False
    )
    ref = _reference_env("adult#001", MEALS, 1440, BBController())
    _compare(traj, ref)
    ins = np.asarray(traj.insulin_u_per_min)
    # The boluses are 45/CR... delivered over the sample period after each meal's period: minutes 423..425.
    assert ins[424:427].min() > 1.0 and ins[423] < 0.1 and ins[427] < 0.1


def test_pid_matches_the_reference_env() -> None:
    meals = [(120, 60.0)]
    gains = {"kp": 1e-3, "ki": 1e-5, "kd": 5e-3}
    ours = simulate_closed_loop(
        MODEL,
        tl.glucose.patient("adolescent#003"),
        PID(**gains, clip_nonnegative=False),
        tl.glucose.Schedule(meals=meals),
        720,
        sensor_noise=False,
    )
    ref = _reference_env("adolescent#003", meals, 720, PIDController(P=gains["kp"], I=gains["ki"], D=gains["kd"]))
    _compare(ours, ref)
    # Clipping the request at zero delivers the same insulin: the pump clips at min_basal = 0.
    clipped = simulate_closed_loop(
        MODEL,
        tl.glucose.patient("adolescent#003"),
        PID(**gains),
        tl.glucose.Schedule(meals=meals),
        720,
        sensor_noise=False,
    )
    np.testing.assert_allclose(clipped.bg, ours.bg, rtol=1e-12)


def test_noisy_run_matches_the_reference_env_given_its_noise_draws() -> None:
    """WithSensor(WithPump(UVAPadova())) + BasalBolus in simulate_one, fed the reference's normal draws.

    T1DSimEnv.reset measures twice at minute 0, so the env's reading k uses the noise stream's value k + 1 (and its
    recorded CGM_hist[0] the value 0): our noise series shifted by one sample time reproduces its readings.
    """
    seed, minutes, meals = 5, 720, [(180, 40.0), (420, 45.0)]
    sensor, pump = CGMSensor.named("Dexcom"), InsulinPump.named("Insulet")
    s = sensor.sample_time_min
    normals = jnp.asarray(np.random.RandomState(seed).randn(sensor.normals_needed(minutes + s)))
    noise = sensor.noise_from_normals(normals, minutes + s)[s:]
    model = WithSensor(model=WithPump(model=MODEL, pump=pump), sensor=sensor)
    p, ctrl = tl.glucose.patient("adult#001"), BasalBolus(sample_time_min=s)
    cho = jnp.asarray(tl.glucose.Schedule(meals=meals).arrays(minutes)[0], dtype=p.BW.dtype)
    state0, inputs = model.start(p, PumpInputs(cho, jnp.zeros_like(cho), jnp.zeros_like(cho)), noise)
    run = jax.jit(
        lambda p, u, x0: tl.sim.simulate_one(
            model, p, u, solver=tl.glucose.DEFAULT_SOLVER, policy=ctrl, policy_state=ctrl.init(p), state0=x0
        )
    )
    traj = run(p, inputs, state0)
    ref = _reference_env("adult#001", meals, minutes, BBController(), RefSensor.withName("Dexcom", seed=seed))
    _compare(traj, ref, first_cgm=1)
    assert np.abs(np.asarray(traj.cgm) - np.asarray(traj.bg)).max() > 5.0  # the noise is there


def test_population_equals_individual_runs_and_noise_is_the_sensors() -> None:
    names = ["adult#001", "child#003", "adolescent#007"]
    key = jax.random.key(11)
    schedule = tl.glucose.Schedule(meals=[(60, 40.0), (300, 60.0)])
    pop = simulate_closed_loop(MODEL, tl.glucose.patients(names), BasalBolus(), schedule, 480, key=key, names=names)
    assert pop.bg.shape == (3, 481) and pop.names == tuple(names)
    sensor = CGMSensor.named("Dexcom")
    for i, (name, k) in enumerate(zip(names, jax.random.split(key, 3), strict=True)):
        one = simulate_closed_loop(MODEL, tl.glucose.patient(name), BasalBolus(), schedule, 480, key=k)
        for out in ("bg", "cgm", "insulin_u_per_min"):
            np.testing.assert_allclose(pop.outputs[out][i], one.outputs[out], rtol=1e-9, atol=1e-9)
        noise = sensor.noise(480, key=k, dtype=one.bg.dtype)
        np.testing.assert_allclose(one.cgm, sensor.read(one.bg, noise), rtol=1e-12)
    assert np.abs(np.asarray(pop.cgm[0]) - np.asarray(pop.cgm[1])).max() > 1.0


def test_new_meals_keys_and_gains_do_not_recompile() -> None:
    p = tl.glucose.patient("adult#004")
    simulate_closed_loop(MODEL, p, BasalBolus(), tl.glucose.Schedule(meals=[(30, 50.0)]), 240, key=jax.random.key(0))
    size = _run_closed_loop._cache_size()
    traj = simulate_closed_loop(
        MODEL, p, BasalBolus(target_mg_dl=120.0), tl.glucose.Schedule(meals=[(90, 20.0)]), 240, key=jax.random.key(1)
    )
    assert _run_closed_loop._cache_size() == size
    assert float(traj.eaten_g_per_min[91]) == 5.0


def test_bad_inputs_are_refused_with_the_fix() -> None:
    p = tl.glucose.patient("adult#001")
    with pytest.raises(ValueError, match=r"boluses=\[\(420, 4.0\)\].*Fix: pass a schedule with meals only"):
        simulate_closed_loop(
            MODEL, p, BasalBolus(), tl.glucose.Schedule(meals=MEALS, boluses=[(420, 4.0)]), key=jax.random.key(0)
        )
    with pytest.raises(ValueError, match=r"basal=0\.8"):
        simulate_closed_loop(MODEL, p, BasalBolus(), tl.glucose.Schedule(basal=0.8), key=jax.random.key(0))
    with pytest.raises(ValueError, match=r"Unknown CGM sensor 'Libre'.*Valid names: Dexcom, GuardianRT"):
        simulate_closed_loop(MODEL, p, BasalBolus(), sensor="Libre", key=jax.random.key(0))
    with pytest.raises(ValueError, match="needs key="):
        simulate_closed_loop(MODEL, p, BasalBolus())
    wrapped = WithPump(model=MODEL, pump=InsulinPump.named("Insulet"))
    with pytest.raises(TypeError, match="bare patient model"):
        simulate_closed_loop(wrapped, p, BasalBolus(), sensor_noise=False)
    with pytest.raises(TypeError, match="init"):
        simulate_closed_loop(MODEL, p, object(), sensor_noise=False)
    with pytest.raises(ValueError, match="sample_time_min is None"):
        BasalBolus().step(BasalBolus().init(p), {"bg": 150.0}, tl.glucose.GlucoseInputs(0.0, 0.0), 0.0, p)


def test_basal_bolus_timing_without_a_sensor() -> None:
    """Carbs announced at minute 0 are bolused at minute 3 (the next action), at carbs / CR / 3 U/min for 3 min."""
    p = tl.glucose.patient("adult#001")
    ctrl = BasalBolus(sample_time_min=3)
    state = ctrl.init(p)
    rates = []
    for t, cho in enumerate([60.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]):
        inputs = PumpInputs(cho_g=jnp.asarray(cho), basal_u_per_min=jnp.asarray(0.0), bolus_u_per_min=jnp.asarray(0.0))
        state, inputs = ctrl.step(state, {"bg": jnp.asarray(120.0)}, inputs, jnp.asarray(float(t)), p)
        rates.append(float(inputs.bolus_u_per_min))
        np.testing.assert_allclose(inputs.basal_u_per_min, p.basal_u_per_min)
    bolus = 60.0 / float(p.therapy.carb_ratio_g_per_u) / 3
    np.testing.assert_allclose(rates, [0, 0, 0, bolus, bolus, bolus, 0], rtol=1e-12)


def test_pid_gives_more_insulin_when_glucose_is_high() -> None:
    p = tl.glucose.patient("adult#001")
    pid = PID(kp=0.01, sample_time_min=3)
    inputs = tl.glucose.GlucoseInputs(cho_g=jnp.asarray(0.0), insulin_u_per_min=jnp.asarray(0.0))
    for cgm, expected in ((200.0, 0.6), (140.0, 0.0), (100.0, 0.0)):
        _, out = pid.step(pid.init(p), {"cgm": jnp.asarray(cgm), "bg": jnp.asarray(0.0)}, inputs, 0.0, p)
        np.testing.assert_allclose(out.insulin_u_per_min, expected, atol=1e-12)
    _, out = pid.replace(clip_nonnegative=False).step(pid.init(p), {"bg": jnp.asarray(100.0)}, inputs, 0.0, p)
    np.testing.assert_allclose(out.insulin_u_per_min, -0.4, rtol=1e-12)
    # Closed loop, an unbolused meal: more gain, more insulin, a lower peak.
    schedule = tl.glucose.Schedule(meals=[(60, 70.0)])
    low, high = (
        simulate_closed_loop(MODEL, p, PID(kp=k, ki=1e-6), schedule, 480, sensor_noise=False) for k in (1e-3, 4e-3)
    )
    assert float(high.insulin_u_per_min.sum()) > float(low.insulin_u_per_min.sum())
    assert float(high.bg.max()) < float(low.bg.max())
    assert float(low.insulin_u_per_min[150:200].mean()) > float(low.insulin_u_per_min[1:60].mean())
