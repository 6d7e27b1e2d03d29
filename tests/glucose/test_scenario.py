"""Random meal days: the JAX sampler against simglucose's RandomScenario, dense conversion, errors."""

from __future__ import annotations

import warnings
from datetime import datetime
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from twinlab.glucose._scenario import (
    REFERENCE_MEAL_SLOTS,
    MealDay,
    MealSlot,
    meal_days_to_dense,
    random_meals,
    sample_meal_day,
    sample_meal_days,
)

N_DAYS = 4000
N_REFERENCE = 1000
# The numbers of simglucose 0.2.11's RandomScenario.create_scenario, copied from its source.
PROBABILITY = [0.95, 0.3, 0.95, 0.3, 0.95, 0.3]
EARLIEST_MIN = [300, 540, 600, 840, 960, 1200]
LATEST_MIN = [540, 600, 840, 960, 1200, 1380]
MEAN_MIN = [420, 570, 720, 900, 1080, 1290]
SD_MIN = [60, 30, 60, 30, 60, 30]
MEAN_G = [45, 10, 70, 10, 80, 10]
SD_G = [10, 5, 10, 5, 10, 5]


class _RecordingRandomState(np.random.RandomState):
    """A RandomState that remembers its ``rand()`` draws: the reference's one uniform per slot, in slot order."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        self.uniforms: list[float] = []

    def rand(self, *args: int) -> float:
        u = super().rand(*args)
        self.uniforms.append(float(u))
        return u


@pytest.fixture(scope="module")
def ours() -> dict[str, np.ndarray]:
    keys = jax.random.split(jax.random.key(20250101), N_DAYS)
    days = jax.jit(jax.vmap(sample_meal_day))(keys)
    return {"minute": np.asarray(days.minute), "carbs_g": np.asarray(days.carbs_g), "eaten": np.asarray(days.eaten)}


@pytest.fixture(scope="module")
def reference() -> dict[str, list[list[float]]]:
    """Meal times and amounts per slot from simglucose's RandomScenario with seeds 0..999.

    The reference lists a day's eaten meals without naming their slots; replaying create_scenario with a
    RandomState that records the per-slot uniforms recovers them (and must give the same day).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from simglucose.simulation.scenario_gen import RandomScenario

    times: list[list[float]] = [[] for _ in PROBABILITY]
    amounts: list[list[float]] = [[] for _ in PROBABILITY]
    for seed in range(N_REFERENCE):
        scenario = RandomScenario(start_time=datetime(2025, 1, 1), seed=seed)
        day = scenario.scenario["meal"]
        scenario.random_gen = _RecordingRandomState(seed)
        replay = scenario.create_scenario()["meal"]
        assert replay == day, f"seed {seed}: replay differs from RandomScenario's own day"
        uniforms = scenario.random_gen.uniforms
        slots = [i for i, (u, p) in enumerate(zip(uniforms, PROBABILITY, strict=True)) if u < p]
        assert len(slots) == len(day["time"])
        for slot, minute, grams in zip(slots, day["time"], day["amount"], strict=True):
            times[slot].append(float(minute))
            amounts[slot].append(float(grams))
    return {"time": times, "amount": amounts}


def _rounded_truncnorm_moments(slot: int) -> tuple[float, float]:
    """Exact mean and SD of the reference's meal minute: a truncated normal rounded to the minute."""
    lb, ub, mu, sd = EARLIEST_MIN[slot], LATEST_MIN[slot], MEAN_MIN[slot], SD_MIN[slot]
    dist = stats.truncnorm((lb - mu) / sd, (ub - mu) / sd, loc=mu, scale=sd)
    k = np.arange(lb, ub + 1, dtype=np.float64)
    pk = dist.cdf(np.minimum(k + 0.5, ub)) - dist.cdf(np.maximum(k - 0.5, lb))
    mean = float(np.sum(k * pk))
    return mean, float(np.sqrt(np.sum((k - mean) ** 2 * pk)))


def _rounded_floored_normal_moments(slot: int) -> tuple[float, float]:
    """Exact mean and SD of the reference's amount: max(round(normal), 0)."""
    mu, sd = MEAN_G[slot], SD_G[slot]
    k = np.arange(0, mu + 12 * sd + 1, dtype=np.float64)
    upper = stats.norm.cdf((k + 0.5 - mu) / sd)
    lower = np.where(k == 0, 0.0, stats.norm.cdf((k - 0.5 - mu) / sd))
    pk = upper - lower
    mean = float(np.sum(k * pk))
    return mean, float(np.sqrt(np.sum((k - mean) ** 2 * pk)))


def test_reference_slots_are_simglucoses_numbers() -> None:
    assert len(REFERENCE_MEAL_SLOTS) == 6
    for i, slot in enumerate(REFERENCE_MEAL_SLOTS):
        assert slot == MealSlot(
            PROBABILITY[i], EARLIEST_MIN[i], LATEST_MIN[i], MEAN_MIN[i], SD_MIN[i], MEAN_G[i], SD_G[i]
        )


def test_shapes_and_dtypes() -> None:
    day = sample_meal_day(jax.random.key(0))
    assert isinstance(day, MealDay)
    assert day.minute.shape == day.carbs_g.shape == day.eaten.shape == (6,)
    assert day.minute.dtype == jnp.int32
    assert day.eaten.dtype == jnp.bool_
    assert jnp.issubdtype(day.carbs_g.dtype, jnp.floating)
    legacy = sample_meal_day(jax.random.PRNGKey(0))
    assert legacy.minute.shape == (6,)


def test_occurrence_frequency_per_slot(ours: dict[str, np.ndarray]) -> None:
    freq = ours["eaten"].mean(axis=0)
    for i, p in enumerate(PROBABILITY):
        se = np.sqrt(p * (1 - p) / N_DAYS)
        assert abs(freq[i] - p) < 4 * se, f"slot {i}: frequency {freq[i]:.4f} vs probability {p}"


def test_times_within_windows(ours: dict[str, np.ndarray]) -> None:
    minute = ours["minute"]
    assert np.all(minute >= np.asarray(EARLIEST_MIN))
    assert np.all(minute <= np.asarray(LATEST_MIN))


def test_amounts_are_whole_nonnegative_grams(ours: dict[str, np.ndarray]) -> None:
    carbs = ours["carbs_g"]
    assert np.all(carbs >= 0)
    assert np.all(carbs == np.round(carbs))
    assert np.all(carbs[~ours["eaten"]] == 0)


@pytest.mark.parametrize("slot", range(6))
def test_mean_time_matches_truncated_normal(ours: dict[str, np.ndarray], slot: int) -> None:
    eaten = ours["eaten"][:, slot]
    minutes = ours["minute"][eaten, slot]
    mean, sd = _rounded_truncnorm_moments(slot)
    se = sd / np.sqrt(minutes.size)
    assert abs(minutes.mean() - mean) < 4 * se, f"slot {slot}: {minutes.mean():.2f} vs {mean:.2f} ± {se:.2f}"


@pytest.mark.parametrize("slot", range(6))
def test_mean_amount_matches_reference(ours: dict[str, np.ndarray], slot: int) -> None:
    eaten = ours["eaten"][:, slot]
    grams = ours["carbs_g"][eaten, slot]
    mean, sd = _rounded_floored_normal_moments(slot)
    se = sd / np.sqrt(grams.size)
    assert abs(grams.mean() - mean) < 4 * se, f"slot {slot}: {grams.mean():.2f} vs {mean:.2f} ± {se:.2f}"


@pytest.mark.parametrize("slot", range(6))
def test_times_match_simglucose_distribution(
    ours: dict[str, np.ndarray], reference: dict[str, list[list[float]]], slot: int
) -> None:
    mine = ours["minute"][ours["eaten"][:, slot], slot]
    result = stats.ks_2samp(mine, np.asarray(reference["time"][slot]))
    assert result.pvalue > 1e-3, f"slot {slot}: KS statistic {result.statistic:.4f}, p = {result.pvalue:.2e}"


@pytest.mark.parametrize("slot", range(6))
def test_amounts_match_simglucose_distribution(
    ours: dict[str, np.ndarray], reference: dict[str, list[list[float]]], slot: int
) -> None:
    mine = ours["carbs_g"][ours["eaten"][:, slot], slot]
    result = stats.ks_2samp(mine, np.asarray(reference["amount"][slot]))
    assert result.pvalue > 1e-3, f"slot {slot}: KS statistic {result.statistic:.4f}, p = {result.pvalue:.2e}"


def test_reference_frequencies_agree_with_ours(
    ours: dict[str, np.ndarray], reference: dict[str, list[list[float]]]
) -> None:
    for slot, p in enumerate(PROBABILITY):
        n_ref = len(reference["time"][slot])
        se = np.sqrt(p * (1 - p) * (1 / N_REFERENCE + 1 / N_DAYS))
        assert abs(n_ref / N_REFERENCE - ours["eaten"][:, slot].mean()) < 4 * se


def test_sample_meal_days_stacks_days_with_offsets() -> None:
    days = sample_meal_days(jax.random.key(3), 5)
    assert days.minute.shape == days.carbs_g.shape == days.eaten.shape == (5, 6)
    assert days.minute.dtype == jnp.int32
    of_day = np.asarray(days.minute) - 1440 * np.arange(5)[:, None]
    assert np.all(of_day >= np.asarray(EARLIEST_MIN))
    assert np.all(of_day <= np.asarray(LATEST_MIN))
    assert len({tuple(row) for row in of_day.tolist()}) == 5  # independent days
    jitted = jax.jit(sample_meal_days, static_argnums=1)(jax.random.key(3), 5)
    np.testing.assert_array_equal(np.asarray(jitted.minute), np.asarray(days.minute))
    np.testing.assert_array_equal(np.asarray(jitted.carbs_g), np.asarray(days.carbs_g))


def test_custom_slots() -> None:
    always = MealSlot(1.0, 360, 420, 390, 10.0, 30.0, 3.0)
    never = MealSlot(0.0, 1080, 1140, 1110, 10.0, 50.0, 3.0)
    sampler = jax.vmap(partial(sample_meal_day, slots=(always, never)))
    days = sampler(jax.random.split(jax.random.key(1), 200))
    assert days.minute.shape == (200, 2)
    assert bool(jnp.all(days.eaten[:, 0]))
    assert not bool(jnp.any(days.eaten[:, 1]))
    assert bool(jnp.all(days.carbs_g[:, 1] == 0))
    assert bool(jnp.all((days.minute[:, 0] >= 360) & (days.minute[:, 0] <= 420)))
    jitted = jax.jit(sample_meal_day, static_argnames="slots")(jax.random.key(1), slots=(always, never))
    assert jitted.minute.shape == (2,)


def test_dense_sums_to_carbs_inside_horizon() -> None:
    days = sample_meal_days(jax.random.key(11), 3)
    minute = np.asarray(days.minute)
    carbs = np.asarray(days.carbs_g)
    eaten = np.asarray(days.eaten)
    for horizon in (720, 1440, 3 * 1440, 4 * 1440):
        dense = meal_days_to_dense(days, horizon)
        assert dense.shape == (horizon,)
        expected = carbs[eaten & (minute < horizon)].sum()
        assert float(dense.sum()) == pytest.approx(float(expected))
        inside = eaten & (minute < horizon)
        np.testing.assert_array_equal(np.asarray(dense)[minute[inside]], carbs[inside])
    jitted = jax.jit(meal_days_to_dense, static_argnums=1)(days, 1440)
    np.testing.assert_array_equal(np.asarray(jitted), np.asarray(meal_days_to_dense(days, 1440)))


def test_dense_adds_meals_at_the_same_minute_and_drops_outside() -> None:
    meals = MealDay(
        minute=jnp.asarray([10, 10, 99, 100, -1, 50], dtype=jnp.int32),
        carbs_g=jnp.asarray([20.0, 5.0, 7.0, 40.0, 9.0, 30.0]),
        eaten=jnp.asarray([True, True, True, True, True, False]),
    )
    dense = np.asarray(meal_days_to_dense(meals, 100))
    assert dense[10] == 25.0
    assert dense[99] == 7.0
    assert dense.sum() == 32.0  # minute 100 is past the horizon, minute -1 before it, slot 5 is not eaten


def test_random_meals_deterministic_sorted_and_typed() -> None:
    meals = random_meals(seed=42, days=3)
    assert meals == random_meals(seed=42, days=3)
    assert meals != random_meals(seed=43, days=3)
    assert meals == sorted(meals)
    for minute, grams in meals:
        assert type(minute) is int
        assert type(grams) is float
        assert grams > 0
        assert 0 <= minute < 3 * 1440
    days = sample_meal_days(jax.random.key(42), 3)
    keep = np.asarray(days.eaten) & (np.asarray(days.carbs_g) > 0)
    assert len(meals) == int(keep.sum())
    assert sum(g for _, g in meals) == pytest.approx(float(np.asarray(days.carbs_g)[keep].sum()))


def test_random_meals_leaves_out_zero_gram_meals() -> None:
    empty = MealSlot(1.0, 600, 660, 630, 10.0, -100.0, 1.0)  # always eaten, always floored to 0 g
    lunch = MealSlot(1.0, 720, 780, 750, 10.0, 60.0, 1.0)
    meals = random_meals(seed=0, days=2, slots=(empty, lunch))
    assert len(meals) == 2
    assert all(720 <= minute % 1440 <= 780 for minute, _ in meals)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"probability": 1.5}, r"probability = 1.5 is not a probability.*\[0, 1\]"),
        ({"probability": -0.1}, "is not a probability"),
        ({"earliest_min": 600, "latest_min": 600}, r"window \[600, 600\].*earliest_min < latest_min"),
        ({"earliest_min": 700, "latest_min": 600}, "empty or outside the day"),
        ({"latest_min": 1500}, "outside the day"),
        ({"earliest_min": -10}, "outside the day"),
        ({"sd_min": 0.0}, r"sd_min = 0.0 must be positive"),
        ({"sd_g": -1.0}, r"sd_g = -1.0 must be positive"),
        ({"mean_g": float("nan")}, "mean_g = nan is not a finite number"),
        ({"mean_min": "noon"}, "mean_min = 'noon' is not a finite number"),
    ],
)
def test_bad_slots_raise(kwargs: dict[str, object], match: str) -> None:
    base = {
        "probability": 0.5,
        "earliest_min": 600,
        "latest_min": 660,
        "mean_min": 630,
        "sd_min": 15.0,
        "mean_g": 40.0,
        "sd_g": 5.0,
    }
    with pytest.raises(ValueError, match=match):
        MealSlot(**{**base, **kwargs})  # type: ignore[arg-type]


def test_bad_arguments_raise() -> None:
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="slots is empty"):
        sample_meal_day(key, slots=())
    not_a_slot = (0.5, 600, 660, 630, 15, 40, 5)
    with pytest.raises(ValueError, match=r"slots\[1\].*is not a MealSlot.*Fix"):
        sample_meal_day(key, slots=(REFERENCE_MEAL_SLOTS[0], not_a_slot))  # type: ignore[arg-type]
    for days in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match=r"days = .* must be a positive whole number"):
            sample_meal_days(key, days)  # type: ignore[arg-type]
    meals = sample_meal_day(key)
    for minutes in (0, 12.5):
        with pytest.raises(ValueError, match=r"minutes = .* positive whole number of minutes"):
            meal_days_to_dense(meals, minutes)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"seed = .* must be an integer"):
        random_meals(seed="7")  # type: ignore[arg-type]
