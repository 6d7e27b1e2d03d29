"""Gradients of a day's mean blood glucose through the whole simulation."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import twinlab as tl

SCHEDULE = tl.glucose.Schedule(meals=[(420, 45.0), (720, 70.0), (1080, 80.0)], boluses=[(420, 4.0), (720, 6.0)])
KEY_PARAMETERS = ("Vmx", "kp2", "kp3", "kabs", "kmax", "Vm0", "k1", "k2", "p2u", "ki", "ksc", "m1", "ka1", "kd")


def _mean_bg(params: tl.glucose.PatientParams) -> jax.Array:
    model = tl.glucose.UVAPadova()
    cho, bolus, rate, own = (jnp.asarray(a) for a in SCHEDULE.arrays(1440))
    inputs = tl.glucose.schedule_inputs(params, cho, bolus, rate, own)
    return jnp.mean(tl.sim.simulate_one(model, params, inputs, solver=tl.glucose.DEFAULT_SOLVER, save_states=False).bg)


@pytest.fixture(scope="module")
def patient() -> tl.glucose.PatientParams:
    return tl.glucose.patient("adult#003")


@pytest.fixture(scope="module")
def grads(patient: tl.glucose.PatientParams) -> tl.glucose.PatientParams:
    return jax.jit(jax.grad(_mean_bg))(patient)


def test_every_gradient_is_finite(grads: tl.glucose.PatientParams) -> None:
    for path, g in jax.tree_util.tree_flatten_with_path(grads)[0]:
        assert np.all(np.isfinite(np.asarray(g))), jax.tree_util.keystr(path)


def test_insulin_sensitivity_lowers_glucose(grads: tl.glucose.PatientParams) -> None:
    # More insulin-dependent utilisation (Vmx) means lower glucose; more glucose effectiveness too.
    assert float(grads.Vmx) < 0
    assert float(grads.Vm0) < 0


@pytest.mark.parametrize("name", KEY_PARAMETERS)
def test_gradient_matches_central_differences(
    name: str, patient: tl.glucose.PatientParams, grads: tl.glucose.PatientParams
) -> None:
    f = jax.jit(_mean_bg)
    value = getattr(patient, name)
    h = 1e-5 * abs(float(value))
    plus = f(patient.replace(**{name: value + h}))
    minus = f(patient.replace(**{name: value - h}))
    fd = float(plus - minus) / (2 * h)
    ad = float(getattr(grads, name))
    assert abs(ad - fd) <= 1e-3 * abs(fd), f"{name}: autodiff {ad:.8g} vs central differences {fd:.8g}"


def test_population_gradients_are_per_patient() -> None:
    names = ["adult#001", "child#002"]
    pop = tl.glucose.patients(names)
    g_pop = jax.jit(jax.vmap(jax.grad(_mean_bg)))(pop)
    for i, n in enumerate(names):
        g_one = jax.jit(jax.grad(_mean_bg))(tl.glucose.patient(n))
        np.testing.assert_allclose(g_pop.Vmx[i], g_one.Vmx, rtol=1e-9)
