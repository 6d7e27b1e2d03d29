"""Random meal days with the semantics of simglucose's ``RandomScenario``, sampled in pure JAX.

A day has meal slots (by default breakfast, morning snack, lunch, afternoon snack, dinner, evening snack).
Each slot occurs with its own probability; its time is a normal distribution truncated to the slot's window
and rounded to the minute; its amount is a normal distribution rounded to the gram and floored at 0 g. These
are the rules and the numbers of simglucose 0.2.11
(``simglucose.simulation.scenario_gen.RandomScenario.create_scenario``). The sampler draws every slot of a
day at once, so it runs under ``jax.jit`` and ``jax.vmap`` and samples thousands of days for a population in
one call; its random streams differ from simglucose's NumPy ones, so the days match the reference in
distribution, not draw for draw.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

MINUTES_PER_DAY = 1440


@dataclass(frozen=True)
class MealSlot:
    """One meal slot of a day: how likely it is, when it happens and how much is eaten.

    Args:
        probability: chance that the meal is eaten on a given day, in [0, 1].
        earliest_min: start of the time window, minutes after midnight.
        latest_min: end of the time window, minutes after midnight (at most 1440).
        mean_min: mean of the (untruncated) normal distribution of the time, minutes after midnight.
        sd_min: standard deviation of that normal distribution, minutes (> 0).
        mean_g: mean of the normal distribution of the amount, g of carbohydrate.
        sd_g: standard deviation of the amount, g (> 0).

    Raises:
        ValueError: a number is not finite, the probability is outside [0, 1], the window is empty or outside
            the day, or a standard deviation is not positive.

    Example:
        >>> late_dinner = MealSlot(0.9, 19 * 60, 22 * 60, 20.5 * 60, 45.0, 60.0, 15.0)
    """

    probability: float
    earliest_min: float
    latest_min: float
    mean_min: float
    sd_min: float
    mean_g: float
    sd_g: float

    def __post_init__(self) -> None:
        for name in ("probability", "earliest_min", "latest_min", "mean_min", "sd_min", "mean_g", "sd_g"):
            value = getattr(self, name)
            if not isinstance(value, int | float | np.integer | np.floating) or not math.isfinite(value):
                raise ValueError(f"MealSlot.{name} = {value!r} is not a finite number. Fix: give a finite number.")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError(
                f"MealSlot.probability = {self.probability!r} is not a probability. Fix: use a value in [0, 1]."
            )
        if not 0.0 <= self.earliest_min < self.latest_min <= MINUTES_PER_DAY:
            raise ValueError(
                f"MealSlot window [{self.earliest_min!r}, {self.latest_min!r}] min is empty or outside the "
                f"day. "
                f"Fix: use 0 <= earliest_min < latest_min <= {MINUTES_PER_DAY} (minutes after midnight)."
            )
        for name in ("sd_min", "sd_g"):
            if getattr(self, name) <= 0:
                raise ValueError(
                    f"MealSlot.{name} = {getattr(self, name)!r} must be positive. "
                    f"Fix: give a standard deviation > 0 (a tiny one for an almost fixed value)."
                )


REFERENCE_MEAL_SLOTS: tuple[MealSlot, ...] = tuple(
    MealSlot(p, lb * 60.0, ub * 60.0, mean_h * 60.0, sd_min, mean_g, sd_g)
    for p, lb, ub, mean_h, sd_min, mean_g, sd_g in zip(
        (0.95, 0.3, 0.95, 0.3, 0.95, 0.3),
        (5, 9, 10, 14, 16, 20),
        (9, 10, 14, 16, 20, 23),
        (7, 9.5, 12, 15, 18, 21.5),
        (60.0, 30.0, 60.0, 30.0, 60.0, 30.0),
        (45.0, 10.0, 70.0, 10.0, 80.0, 10.0),
        (10.0, 5.0, 10.0, 5.0, 10.0, 5.0),
        strict=True,
    )
)
"""simglucose 0.2.11's six slots: breakfast, snack, lunch, snack, dinner, snack (``RandomScenario``)."""


class MealDay(struct.PyTreeNode):
    """Sampled meal slots of one or more days (a pytree; leading axes batch days or individuals).

    Attributes:
        minute: int32, shape (..., n_slots): meal time, minutes from the start (of the day for
            :func:`sample_meal_day`, of the first day for :func:`sample_meal_days`). Drawn for every slot; it
            means nothing where ``eaten`` is False.
        carbs_g: float, shape (..., n_slots): carbohydrate, whole grams >= 0; 0 where ``eaten`` is False.
        eaten: bool, shape (..., n_slots): whether the slot's meal happens.
    """

    minute: jax.Array
    carbs_g: jax.Array
    eaten: jax.Array


def _check_slots(slots: Sequence[MealSlot]) -> tuple[MealSlot, ...]:
    slots = tuple(slots)
    if not slots:
        raise ValueError("slots is empty. Fix: give at least one MealSlot, or use REFERENCE_MEAL_SLOTS.")
    for i, slot in enumerate(slots):
        if not isinstance(slot, MealSlot):
            raise ValueError(
                f"slots[{i}] = {slot!r} is not a MealSlot. "
                f"Fix: build each slot with MealSlot(probability, earliest_min, latest_min, mean_min, "
                f"sd_min, mean_g, sd_g)."
            )
    return slots


def _slot_column(slots: tuple[MealSlot, ...], name: str, dtype: jnp.dtype) -> jax.Array:
    return jnp.asarray([getattr(slot, name) for slot in slots], dtype=dtype)


def sample_meal_day(key: jax.Array, slots: Sequence[MealSlot] = REFERENCE_MEAL_SLOTS) -> MealDay:
    """Sample one day of meals, every slot at once.

    Each slot occurs with its probability (``jax.random.bernoulli``); its time is a normal truncated to the
    slot's window (``jax.random.truncated_normal``), rounded to the minute; its amount is a normal rounded to
    the gram and floored at 0 g. Rounding is half to even, as NumPy's and Python's in the reference.

    Args:
        key: a JAX random key (``jax.random.key`` or ``jax.random.PRNGKey``).
        slots: the day's meal slots, static under ``jax.jit`` (pass them with ``static_argnames``, or close
            over them); default simglucose's six.

    Returns:
        A :class:`MealDay` with fields of shape (n_slots,); minutes are minutes after midnight.

    Raises:
        ValueError: ``slots`` is empty or holds something other than ``MealSlot``.

    Example:
        >>> days = jax.vmap(sample_meal_day)(jax.random.split(jax.random.key(0), 1000))
        >>> days.minute.shape
        (1000, 6)
    """
    slots = _check_slots(slots)
    dtype = jnp.result_type(float)
    p, lb, ub, mu, sd_min, mean_g, sd_g = (
        _slot_column(slots, name, dtype)
        for name in ("probability", "earliest_min", "latest_min", "mean_min", "sd_min", "mean_g", "sd_g")
    )
    k_eat, k_time, k_amount = jax.random.split(key, 3)
    n = len(slots)
    eaten = jax.random.bernoulli(k_eat, p, shape=(n,))
    z = jax.random.truncated_normal(k_time, (lb - mu) / sd_min, (ub - mu) / sd_min, shape=(n,), dtype=dtype)
    minute = jnp.round(mu + sd_min * z).astype(jnp.int32)
    amount = jnp.maximum(jnp.round(mean_g + sd_g * jax.random.normal(k_amount, (n,), dtype=dtype)), 0.0)
    return MealDay(minute=minute, carbs_g=jnp.where(eaten, amount, jnp.zeros_like(amount)), eaten=eaten)


def sample_meal_days(key: jax.Array, days: int, slots: Sequence[MealSlot] = REFERENCE_MEAL_SLOTS) -> MealDay:
    """Sample ``days`` consecutive days of meals, each day independent.

    Args:
        key: a JAX random key.
        days: number of days, a positive Python int (static under ``jax.jit``).
        slots: the meal slots of every day; default simglucose's six.

    Returns:
        A :class:`MealDay` with fields of shape (days, n_slots); ``minute`` counts from midnight of the first
        day, so day ``d``'s meals are offset by ``1440 * d``.

    Raises:
        ValueError: ``days`` is not a positive whole number, or the slots are bad.
    """
    if isinstance(days, bool) or not isinstance(days, int | np.integer) or days < 1:
        raise ValueError(f"days = {days!r} must be a positive whole number. Fix: pass e.g. days=1 or days=14.")
    slots = _check_slots(slots)
    daily = jax.vmap(lambda k: sample_meal_day(k, slots))(jax.random.split(key, int(days)))
    offset = MINUTES_PER_DAY * jnp.arange(int(days), dtype=jnp.int32)[:, None]
    return MealDay(minute=daily.minute + offset, carbs_g=daily.carbs_g, eaten=daily.eaten)


def meal_days_to_dense(meals: MealDay, minutes: int) -> jax.Array:
    """Per-minute announced carbohydrate for the first ``minutes`` minutes.

    Meals in the same minute add. Meals at or after ``minutes`` (or before minute 0) fall outside the horizon
    and are left out: expected when the horizon is shorter than the sampled days, e.g. a 12-hour simulation of
    a sampled day drops the dinner and the evening snack.

    Args:
        meals: a :class:`MealDay` of any shape (one day, or stacked days from :func:`sample_meal_days`); all
            of its meals go onto one timeline.
        minutes: length of the horizon, a positive Python int (static under ``jax.jit``).

    Returns:
        Carbohydrate announced at each minute, g, shape (minutes,), of the dtype of ``meals.carbs_g``.

    Raises:
        ValueError: ``minutes`` is not a positive whole number.
    """
    if isinstance(minutes, bool) or not isinstance(minutes, int | np.integer) or minutes < 1:
        raise ValueError(
            f"minutes = {minutes!r} must be a positive whole number of minutes. Fix: pass e.g. minutes=1440."
        )
    minute = jnp.ravel(meals.minute)
    carbs = jnp.ravel(meals.carbs_g)
    inside = jnp.ravel(meals.eaten) & (minute >= 0) & (minute < minutes)
    index = jnp.where(inside, minute, jnp.full_like(minute, int(minutes)))
    dense = jnp.zeros((int(minutes),), dtype=carbs.dtype)
    return dense.at[index].add(jnp.where(inside, carbs, jnp.zeros_like(carbs)), mode="drop")


def random_meals(seed: int, days: int = 1, slots: Sequence[MealSlot] = REFERENCE_MEAL_SLOTS) -> list[tuple[int, float]]:
    """Host-side random meals: the eaten meals of ``days`` sampled days, sorted by minute.

    Built on :func:`sample_meal_days` with ``jax.random.key(seed)``, so a seed always gives the same meals.
    The pairs fit ``Schedule(meals=...)``.

    Args:
        seed: integer seed.
        days: number of days, a positive int.
        slots: the meal slots of every day; default simglucose's six.

    Returns:
        ``(minute from the start, grams)`` pairs with int minutes and float grams; meals of 0 g are left out.

    Raises:
        ValueError: ``seed`` is not an integer, or ``days`` or ``slots`` are bad.

    Example:
        >>> meals = random_meals(seed=7, days=2)
        >>> all(0 <= minute < 2 * 1440 for minute, _ in meals)
        True
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise ValueError(f"seed = {seed!r} must be an integer. Fix: pass e.g. seed=0.")
    meals = sample_meal_days(jax.random.key(int(seed)), days, slots)
    minute = np.asarray(meals.minute).ravel()
    carbs = np.asarray(meals.carbs_g).ravel()
    keep = np.asarray(meals.eaten).ravel() & (carbs > 0)
    return sorted((int(m), float(g)) for m, g in zip(minute[keep], carbs[keep], strict=True))
