"""Dosing policies: pure pytrees with ``init(key) -> state`` and ``__call__(state, obs, key) -> (state, Dose)``.

`BasalBolus` and `PID` are the baselines (they see only the CGM, announced meals and the therapy settings);
`NetworkPolicy` is a small network whose action is relative to the basal-bolus rule (`residual_dose`), trained
by `twinlab.control.train`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
from flax import struct

from twinlab.control._env import meal_bolus_u, residual_dose
from twinlab.control._types import Dose, Observation


class BasalBolus(struct.PyTreeNode):
    """The clinical rule: the scheduled basal, and at each announced meal ``C / CR`` plus a correction above 150.

    Attributes:
        target_mg_dl: correction target, mg/dL.
        threshold_mg_dl: a meal bolus is corrected when the reading is above this, mg/dL.
    """

    target_mg_dl: float = 140.0
    threshold_mg_dl: float = 150.0

    def init(self, key: jax.Array) -> tuple[()]:
        """No state."""
        del key
        return ()

    def __call__(self, state: Any, obs: Observation, key: jax.Array) -> tuple[Any, Dose]:
        """The scheduled basal and the meal bolus with correction."""
        del key
        return state, Dose(obs.basal_u_per_h, meal_bolus_u(obs, self.target_mg_dl, self.threshold_mg_dl))


class PID(struct.PyTreeNode):
    """Basal from a PID on the CGM, relative to the scheduled basal, plus the basal-bolus meal bolus (``meal_bolus``).

    ``basal = scheduled * max(1 + kp e + ki ∫e + kd de/dt, 0)`` with ``e = cgm - target`` (mg/dL), the integral
    in mg/dL*h and the derivative in mg/dL per minute: gains relative to the scheduled basal carry over between
    children and adults. The integral is clamped to ``±integral_limit`` (anti-windup); a missing reading holds the
    integral and skips the derivative.

    Attributes:
        kp: per mg/dL.
        ki: per (mg/dL*h).
        kd: per (mg/dL/min).
        target_mg_dl: mg/dL.
        integral_limit: bound on the integral, mg/dL*h.
        interval_min: minutes between decisions (static).
        meal_bolus: give the basal-bolus rule's meal bolus (static).
    """

    kp: float = 0.01
    ki: float = 0.001
    kd: float = 0.1
    target_mg_dl: float = 120.0
    integral_limit: float = 300.0
    interval_min: int = struct.field(pytree_node=False, default=3)
    meal_bolus: bool = struct.field(pytree_node=False, default=True)

    def init(self, key: jax.Array) -> tuple[jax.Array, jax.Array]:
        """(integral mg/dL*h, previous reading mg/dL; NaN before the first)."""
        del key
        return jnp.zeros(()), jnp.full((), jnp.nan)

    def __call__(self, state: Any, obs: Observation, key: jax.Array) -> tuple[Any, Dose]:
        """One decision."""
        del key
        integral, prev = state
        g = obs.latest_mg_dl
        ok = ~jnp.isnan(g)
        e = jnp.where(ok, g - self.target_mg_dl, 0.0)
        integral = jnp.clip(integral + e * self.interval_min / 60.0, -self.integral_limit, self.integral_limit)
        deriv = jnp.where(ok & ~jnp.isnan(prev), (g - prev) / self.interval_min, 0.0)
        basal = obs.basal_u_per_h * jnp.maximum(1.0 + self.kp * e + self.ki * integral + self.kd * deriv, 0.0)
        bolus = meal_bolus_u(obs) if self.meal_bolus else jnp.zeros_like(basal)
        return (integral, jnp.where(ok, g, prev)), Dose(basal, bolus)


class MLP(nn.Module):
    """A small tanh network: normalised observation -> action in [-1, 1]^2."""

    hidden: tuple[int, ...] = (32, 32)

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        """(..., features) -> (..., 2)."""
        for width in self.hidden:
            x = jnp.tanh(nn.Dense(width, dtype=x.dtype, param_dtype=x.dtype)(x))
        return jnp.tanh(nn.Dense(2, kernel_init=nn.initializers.zeros, dtype=x.dtype, param_dtype=x.dtype)(x))


def normalise(obs: Observation) -> jax.Array:
    """Observation features on unit scales: glucose (mg/dL - 140) / 60, trend, IOB, carbs, time of day."""
    cgm = jnp.nan_to_num(obs.cgm_mg_dl, nan=140.0)
    trend = (cgm[..., -1:] - cgm[..., :-1]) / 30.0
    scale = jnp.maximum(obs.basal_u_per_h, 1e-3)
    angle = 2 * jnp.pi * obs.minute_of_day / 1440.0
    scalars = jnp.stack(
        [obs.iob_u / (scale * 4.0), obs.carbs_g / 50.0, jnp.sin(angle), jnp.cos(angle), obs.cgm_age_min / 15.0], -1
    )
    return jnp.concatenate([(cgm - 140.0) / 60.0, trend, scalars], -1)


class NetworkPolicy(struct.PyTreeNode):
    """A network's action, relative to the basal-bolus rule (`residual_dose`); with zero weights it *is* that rule.

    Attributes:
        params: the network's parameters.
        network: the flax module (static).
        features: observation -> network input (static).
        to_dose: (observation, action) -> `Dose` (static).
    """

    params: Any
    network: nn.Module = struct.field(pytree_node=False, default_factory=MLP)
    features: Callable[[Observation], jax.Array] = struct.field(pytree_node=False, default=normalise)
    to_dose: Callable[[Observation, jax.Array], Dose] = struct.field(pytree_node=False, default=residual_dose)

    @classmethod
    def create(cls, key: jax.Array, history_len: int = 20, network: nn.Module | None = None) -> NetworkPolicy:
        """A fresh network (output layer zero: it starts as the basal-bolus rule)."""
        network = MLP() if network is None else network
        n = 2 * history_len - 1 + 5
        return cls(params=network.init(key, jnp.zeros((n,))), network=network)

    def init(self, key: jax.Array) -> tuple[()]:
        """No state."""
        del key
        return ()

    def __call__(self, state: Any, obs: Observation, key: jax.Array) -> tuple[Any, Dose]:
        """The network's dose."""
        del key
        action = jnp.asarray(self.network.apply(self.params, self.features(obs)))
        return state, self.to_dose(obs, action)


class ActionPolicy(struct.PyTreeNode):
    """A policy from a function of the observation *vector* to an action (e.g. a Brax PPO inference function).

    Attributes:
        act: (obs_vector, key) -> action in [-1, 1]^2 (static).
        to_dose: (observation, action) -> `Dose` (static).
    """

    act: Callable[[jax.Array, jax.Array], jax.Array] = struct.field(pytree_node=False)
    to_dose: Callable[[Observation, jax.Array], Dose] = struct.field(pytree_node=False, default=residual_dose)

    def init(self, key: jax.Array) -> tuple[()]:
        """No state."""
        del key
        return ()

    def __call__(self, state: Any, obs: Observation, key: jax.Array) -> tuple[Any, Dose]:
        """The function's action as a dose."""
        return state, self.to_dose(obs, self.act(obs.to_vector(), key))
