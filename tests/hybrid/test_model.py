"""The hybrid model under the simulator contract: starts as the base model, jit/vmap, gradients reach both parts."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import twinlab as tl
from twinlab import hybrid
from twinlab.sim._simulate import _simulate_jit

PATIENT = tl.glucose.patient("adult#001", dtype=jnp.float64)
MINUTES = 180


def _inputs(sessions=((30, 40, 120.0),)):
    schedule = tl.glucose.Schedule(meals=[(10, 40.0)], boluses=[(10, 4.0)])
    glucose = tl.glucose.schedule_inputs(PATIENT, *(jnp.asarray(a) for a in schedule.arrays(MINUTES)))
    hr = jnp.asarray(tl.glucose.heart_rate_series(MINUTES, sessions))
    return tl.glucose.ExerciseInputs(glucose.cho_g, glucose.insulin_u_per_min, hr), schedule


def _perturbed(params, scale=0.3, seed=1):
    """The same params with every network weight drawn at random (the read-out too, so the residual is non-zero)."""
    leaves, treedef = jax.tree.flatten(params.net)
    keys = jax.random.split(jax.random.key(seed), len(leaves))
    new = [scale * jax.random.normal(k, leaf.shape, leaf.dtype) for k, leaf in zip(keys, leaves, strict=True)]
    return params.replace(net=jax.tree.unflatten(treedef, new))


def test_graph_is_the_models_compartments_with_exercise_links():
    senders, receivers = hybrid.compartment_edges()
    assert len(senders) == len(receivers)
    pairs = set(zip(senders, receivers, strict=True))
    assert len(pairs) == len(senders) and all((b, a) in pairs for a, b in pairs) and len(hybrid.NODE_NAMES) == 15
    adj = hybrid.compartment_adjacency()
    np.testing.assert_allclose(adj.sum(axis=1), 1.0)
    gp, gt = hybrid.NODE_NAMES.index("Gp"), hybrid.NODE_NAMES.index("Gt")
    assert adj[gp, gt] > 0 and adj[gt, gp] > 0 and adj[gt, hybrid.NODE_NAMES.index("E_slow")] > 0


def test_a_new_hybrid_is_the_base_model():
    model, params = hybrid.init_hybrid(PATIENT)
    inputs, schedule = _inputs()
    traj = tl.sim.simulate(model, params, inputs, solver=tl.glucose.DEFAULT_SOLVER)
    base = tl.glucose.simulate(tl.glucose.UVAPadova(), PATIENT, schedule, MINUTES)
    np.testing.assert_allclose(np.asarray(traj.bg), np.asarray(base.bg), rtol=0, atol=1e-9)
    assert float(traj.x[-1, 13]) < float(traj.x[-1, 14]) > 0  # the fast filter has decayed, the slow one not yet


def test_runs_under_simulate_for_a_population_without_retracing():
    model, params = hybrid.init_hybrid(PATIENT)
    inputs, _ = _inputs()
    one = _perturbed(params)
    pop = tl.sim.stack([params, one])
    traj = tl.sim.simulate(model, pop, inputs)
    assert traj.bg.shape == (2, MINUTES + 1) and np.all(np.isfinite(np.asarray(traj.bg)))
    alone = tl.sim.simulate(model, one, inputs)
    np.testing.assert_allclose(np.asarray(traj.bg[1]), np.asarray(alone.bg), rtol=1e-10)
    assert abs(float(traj.bg[1, -1] - traj.bg[0, -1])) > 0.1  # the random residual changes the forecast
    before = _simulate_jit._cache_size()
    tl.sim.simulate(model, _perturbed(params, seed=2), inputs)  # new weights: same compiled code
    assert _simulate_jit._cache_size() == before


def test_gradients_reach_the_network_and_the_mechanistic_parameters():
    model, params = hybrid.init_hybrid(PATIENT)
    inputs, _ = _inputs()
    theta = {"log_scale": jnp.zeros(2), "net": params.net}

    def loss(theta, params):
        p = hybrid.with_theta(params, theta)
        return jnp.mean(tl.sim.simulate_one(model, p, inputs, solver=tl.sim.RK4()).outputs["bg"] ** 2)

    gradient = jax.jit(jax.grad(loss))
    grads = gradient(theta, params)
    flat = jax.tree.leaves(grads)
    assert all(np.all(np.isfinite(np.asarray(g))) for g in flat)
    assert np.all(np.asarray(grads["log_scale"]) != 0.0)  # Vm0 and Vmx
    assert np.any(np.asarray(grads["net"]["readout"]["kernel"][...]) != 0.0)  # at zero output only the read-out moves
    grads = gradient({**theta, "net": _perturbed(params, 0.1).net}, params)
    for path, g in jax.tree_util.tree_flatten_with_path(grads["net"])[0]:
        assert np.any(np.asarray(g) != 0.0), f"no gradient reaches {jax.tree_util.keystr(path)}"


def test_residual_network_passes_messages_along_the_edges():
    """The dense form equals gathering each sender's message and averaging it into each receiver."""
    net = hybrid.CompartmentResidual(4, hidden=8, blocks=1, rngs=nnx.Rngs(0), dtype=jnp.float64)
    graphdef, state = nnx.split(net)
    net = nnx.merge(graphdef, jax.tree.map(lambda a: a + 0.1, state))  # a non-zero read-out
    x = jax.random.normal(jax.random.key(0), (15, 4), jnp.float64)
    senders, receivers = (np.asarray(a) for a in hybrid.compartment_edges())
    h = np.tanh(np.asarray(net.embed(x)))
    msg = np.tanh(np.asarray(net.message[0](jnp.asarray(h))))
    agg = np.zeros_like(h)
    np.add.at(agg, receivers, msg[senders])
    agg /= np.bincount(receivers, minlength=15)[:, None]
    h = h + np.tanh(np.asarray(net.update[0](jnp.asarray(np.concatenate([h, agg], axis=1)))))
    expected = np.asarray(net.readout(jnp.asarray(h)))[:, 0]
    np.testing.assert_allclose(net(x, jnp.asarray(hybrid.compartment_adjacency())), expected, rtol=1e-12)


def test_residual_network_is_zero_at_start_and_shapes():
    net = hybrid.CompartmentResidual(16, hidden=8, rngs=nnx.Rngs(0), dtype=jnp.float64)
    out = net(jnp.ones((15, 16)), jnp.asarray(hybrid.compartment_adjacency()))
    assert out.shape == (15,) and np.all(np.asarray(out) == 0.0)


def test_bad_construction_fails_early():
    with pytest.raises(ValueError, match="one person"):
        hybrid.init_hybrid(tl.glucose.patients(["adult#001", "adult#002"], dtype=jnp.float64))
    with pytest.raises(ValueError, match="resting heart rate"):
        hybrid.init_hybrid(PATIENT, hr_rest_bpm=float("nan"))
