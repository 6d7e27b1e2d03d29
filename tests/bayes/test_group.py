"""Personalising several people at once: pooling choice, padding, and sharding over host devices."""

import jax
import numpy as np
import pytest

import twinlab as tl
from twinlab import bayes

from .synthetic import stack, synthetic_record

MODEL = tl.glucose.UVAPadova()


@pytest.fixture(scope="module")
def people():
    pairs = [synthetic_record(n, m, seed=i) for i, (n, m) in enumerate([("adult#001", 120), ("adult#002", 90)])]
    return [p for p, _ in pairs], [r for _, r in pairs]


def test_group_svi_is_the_same_sharded_over_devices(people):
    trues, records = people
    base = stack(trues)
    kwargs = dict(method="svi", key=jax.random.key(0), base=base, hierarchical=False, svi_steps=100, num_samples=30)
    plain = bayes.personalise_group(MODEL, records, ("Vmx",), **kwargs)
    mesh = jax.make_mesh((2,), ("people",), axis_types=(jax.sharding.AxisType.Auto,))
    sharded = bayes.personalise_group(MODEL, records, ("Vmx",), mesh=mesh, **kwargs)
    assert [p.minutes for p in plain.people] == [120, 90]  # the shorter record was padded, then cut back
    for a, b in zip(plain.people, sharded.people, strict=True):
        np.testing.assert_allclose(a.theta, b.theta, rtol=1e-6, atol=1e-9)


def test_pooling_is_chosen_by_how_much_data_each_person_has(people):
    _, records = people
    auto = bayes.personalise_group(MODEL, records * 2, ("Vmx",), method="svi", key=jax.random.key(1),
                                   svi_steps=50, num_samples=30)  # fmt: skip
    assert auto.hierarchical  # four people with under a day of readings each: partial pooling
    assert set(auto.population) == {"mu", "tau"} and auto.population["mu"].shape == (4, 30, 1)
    assert any(k.startswith("mu_") for k in auto.people[0].diagnostics.rhat)


def test_group_errors_name_the_fix(people):
    _, records = people
    mesh = jax.make_mesh((8,), ("people",), axis_types=(jax.sharding.AxisType.Auto,))
    with pytest.raises(ValueError, match="do not divide evenly over 8 devices"):
        bayes.personalise_group(MODEL, records, ("Vmx",), method="svi", key=jax.random.key(0), mesh=mesh)
    with pytest.raises(ValueError, match="hierarchical must be"):
        bayes.personalise_group(MODEL, records, ("Vmx",), key=jax.random.key(0), hierarchical="yes")
