"""`GymEnv`: a `GlucoseEnv` behind the Gymnasium API, for reinforcement-learning libraries outside JAX.

Each ``reset``/``step`` runs the jit-compiled JAX step on one person and returns NumPy arrays (float32
observations). ``terminated`` is never set by the patient; ``truncated`` marks the end of the episode's days.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium
import jax
import numpy as np

from twinlab.control._env import GlucoseEnv


class GymEnv(gymnasium.Env):
    """Gymnasium view of a `GlucoseEnv` (observation `Observation.to_vector`, action in [-1, 1]^2).

    Args:
        env: the `GlucoseEnv`.
        seed: seed of the first reset when ``reset`` gets none.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}  # type: ignore[misc]

    def __init__(self, env: GlucoseEnv, seed: int = 0) -> None:
        self.env = env
        self.observation_space = gymnasium.spaces.Box(-np.inf, np.inf, (env.observation_size,), np.float32)
        self.action_space = gymnasium.spaces.Box(-1.0, 1.0, (env.action_size,), np.float32)
        self._reset = jax.jit(env.reset)
        self._step = jax.jit(env.step)
        self._key = jax.random.key(seed)
        self._state: Any = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        """A new episode (a person, meals and sensor noise drawn from the seed's key stream)."""
        super().reset(seed=seed)
        if seed is not None:
            self._key = jax.random.key(seed)
        self._key, k = jax.random.split(self._key)
        self._state = self._reset(k)
        return np.asarray(self._state.obs, np.float32), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        """One decision; info holds the interval's true glucose (mg/dL) and the safety layer's reason mask."""
        if self._state is None:
            raise RuntimeError("step() before reset(). Fix: call reset() first.")
        action = np.asarray(action, np.float64)
        if action.shape != (self.env.action_size,) or not np.all(np.isfinite(action)):
            raise ValueError(f"action must be {self.env.action_size} finite numbers in [-1, 1]; got {action!r}.")
        self._state = self._step(self._state, action)
        s = self._state
        info = {"bg_mg_dl": np.asarray(s.info["bg_mg_dl"]), "reasons": int(s.info["reasons"])}
        return np.asarray(s.obs, np.float32), float(s.reward), False, bool(s.done), info
