"""The simulator contract on a model with a known solution, and on the glucose model."""

from __future__ import annotations

from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import struct

import twinlab as tl


@struct.dataclass
class DecayParams:
    rate_per_min: jax.Array
    x0: jax.Array


class Decay(tl.sim.Model):
    """dx/dt = -rate * x + u: exact solution known for constant u."""

    time_unit: ClassVar[str] = "min"
    state_names: ClassVar[tuple[str, ...]] = ("x",)
    output_units: ClassVar[dict[str, str]] = {"x": "mg"}

    def init(self, params: DecayParams) -> tl.sim.SimState:
        return tl.sim.SimState(x=jnp.atleast_1d(params.x0))

    def vector_field(self, t, x, held, params):
        return -params.rate_per_min * x + held

    def observe(self, state, params):
        return {"x": state.x[0]}


def exact(rate: float, x0: float, u: float, t: np.ndarray) -> np.ndarray:
    return u / rate + (x0 - u / rate) * np.exp(-rate * t)


@pytest.fixture
def one() -> DecayParams:
    return DecayParams(rate_per_min=jnp.asarray(0.3), x0=jnp.asarray(2.0))


def test_rk4_matches_exact_solution_with_fourth_order_convergence(one: DecayParams) -> None:
    inputs = jnp.full((40,), 0.5)
    errors = []
    for substeps in (1, 2, 4):
        traj = tl.sim.simulate(Decay(), one, inputs, dt=0.5, solver=tl.sim.RK4(substeps=substeps))
        errors.append(np.abs(np.asarray(traj.x)[:, 0] - exact(0.3, 2.0, 0.5, np.asarray(traj.t))).max())
    assert errors[-1] < 1e-7
    orders = np.log2(np.asarray(errors[:-1]) / np.asarray(errors[1:]))
    assert np.all(orders > 3.8), orders


def test_euler_and_diffrax(one: DecayParams) -> None:
    inputs = jnp.zeros((20,))
    t = np.arange(21.0)
    traj = tl.sim.simulate(Decay(), one, inputs, solver=tl.sim.Diffrax(rtol=1e-10, atol=1e-12))
    np.testing.assert_allclose(traj.x[:, 0], exact(0.3, 2.0, 0.0, t), rtol=1e-8)
    coarse = tl.sim.simulate(Decay(), one, inputs, solver=tl.sim.Euler(substeps=1))
    fine = tl.sim.simulate(Decay(), one, inputs, solver=tl.sim.Euler(substeps=64))
    err_coarse = np.abs(np.asarray(coarse.x)[:, 0] - exact(0.3, 2.0, 0.0, t)).max()
    err_fine = np.abs(np.asarray(fine.x)[:, 0] - exact(0.3, 2.0, 0.0, t)).max()
    assert err_fine < err_coarse / 30


def test_trajectory_times_states_and_views(one: DecayParams) -> None:
    traj = tl.sim.simulate(Decay(), one, jnp.zeros((5,)), dt=2.0, t0=10.0)
    np.testing.assert_allclose(traj.t, [10, 12, 14, 16, 18, 20])
    assert traj.x.shape == (6, 1)
    df = traj.to_pandas()
    assert list(df.columns) == ["t [min]", "x [mg]"]
    ds = traj.to_xarray()
    assert ds["x"].attrs["units"] == "mg" and ds.sizes["time"] == 6
    with pytest.raises(AttributeError, match="its outputs are"):
        _ = traj.nonexistent


def test_population_vmaps_and_equals_individual_runs(one: DecayParams) -> None:
    pop = tl.sim.stack([one, one.replace(rate_per_min=jnp.asarray(0.1)), one.replace(x0=jnp.asarray(5.0))])
    assert tl.sim.population_size(pop) == 3
    inputs = jnp.linspace(0, 1, 30)
    trajs = tl.sim.simulate(Decay(), pop, inputs)
    assert trajs.x.shape == (3, 31, 1) and trajs.t.shape == (31,)
    for i, ind in enumerate(tl.sim.unstack(pop)):
        np.testing.assert_allclose(trajs.x[i], tl.sim.simulate(Decay(), ind, inputs).x, rtol=1e-12)
    batched = tl.sim.simulate(Decay(), pop, jnp.stack([inputs, 2 * inputs, 3 * inputs]), inputs_batched=True)
    np.testing.assert_allclose(batched.x[0], trajs.x[0], rtol=1e-12)
    assert set(trajs.to_pandas()["individual"]) == {"0", "1", "2"}
    assert trajs.to_xarray()["x"].dims == ("individual", "time")


def test_mismatched_population_shapes_are_refused(one: DecayParams) -> None:
    bad = DecayParams(rate_per_min=jnp.ones(3), x0=jnp.ones(4))
    with pytest.raises(ValueError, match="Mismatched population shapes"):
        tl.sim.simulate(Decay(), bad, jnp.zeros(3))
    half = DecayParams(rate_per_min=jnp.ones(3), x0=jnp.asarray(1.0))
    with pytest.raises(ValueError, match="Mismatched population shapes"):
        tl.sim.population_size(half)
    pop = tl.sim.stack([one, one])
    with pytest.raises(ValueError, match="inputs_batched"):
        tl.sim.simulate(Decay(), pop, jnp.zeros((3, 5)), inputs_batched=True)


def test_new_values_never_recompile(one: DecayParams) -> None:
    from twinlab.sim._simulate import _simulate_jit

    tl.sim.simulate(Decay(), one, jnp.zeros(7))
    before = _simulate_jit._cache_size()
    for k in range(3):
        tl.sim.simulate(
            Decay(),
            one.replace(rate_per_min=jnp.asarray(0.1 * (k + 1))),
            jnp.full(7, float(k)),
            dt=0.5 * (k + 1),
            t0=float(k),
        )
    assert _simulate_jit._cache_size() == before


def test_grad_through_a_trajectory(one: DecayParams) -> None:
    def final(rate):
        traj = tl.sim.simulate_one(Decay(), one.replace(rate_per_min=rate), jnp.zeros(10), solver=tl.sim.RK4(8))
        return traj.x[-1, 0]

    g = jax.grad(final)(jnp.asarray(0.3))
    np.testing.assert_allclose(g, -10 * 2.0 * np.exp(-3.0), rtol=1e-6)


def test_sharded_population_equals_single_device() -> None:
    assert jax.device_count() == 8, "tests/conftest.py sets 8 host devices"
    model = tl.glucose.UVAPadova()
    names = tl.glucose.patient_names()
    pop = tl.glucose.patients(names)
    schedule = tl.glucose.Schedule(meals=[(60, 50.0), (300, 30.0)], boluses=[(60, 3.0)])
    reference = tl.glucose.simulate(model, pop, schedule, 480)
    padded, mask = tl.sim.pad_population(pop, jax.device_count())
    assert padded.BW.shape == (32,) and int(mask.sum()) == 30
    sharded = tl.sim.shard_population(padded)
    assert len(sharded.BW.sharding.device_set) == 8
    trajs = tl.glucose.simulate(model, sharded, schedule, 480)
    assert len(trajs.bg.sharding.device_set) == 8
    np.testing.assert_allclose(np.asarray(trajs.bg)[np.asarray(mask)], reference.bg, rtol=1e-12, atol=1e-10)
    with pytest.raises(ValueError, match="multiple of the 8 devices"):
        tl.sim.shard_population(pop)
