"""Training the hybrid: the network and chosen patient parameters together, by gradients through the simulated windows.

The trainable part is ``theta = {"log_scale": (len(FIT_FIELDS),), "net": nnx.State}``: each fitted patient parameter
is its starting value times ``exp(log_scale)``. The loss is the mean squared error of the forecast glucose against the
CGM readings of each window (a NaN reading is a minute without one, left out), differentiated through the whole
``lax.scan`` of RK4 steps and optimised with Adam.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from twinlab.hybrid._data import Windows
from twinlab.hybrid._model import HybridParams, HybridUVAPadova
from twinlab.sim import RK4, simulate_one

#: Patient parameters fitted with the network: insulin-independent (Vm0) and insulin-dependent (Vmx) utilisation.
FIT_FIELDS: tuple[str, ...] = ("Vm0", "Vmx")
#: The forecasts use one RK4 step per minute (the error that leaves, < 0.3 mg/dL, is far below the sensor noise).
SOLVER = RK4()
#: Errors are measured in units of 10 mg/dL inside the loss, so that it is of order one.
LOSS_SCALE_MG_DL = 10.0


@dataclass(frozen=True)
class FitResult:
    """What `fit` returns.

    Attributes:
        params: the fitted `HybridParams`.
        theta: the fitted trainable part (``log_scale`` and, for a hybrid, ``net``).
        losses: training loss of each step, (steps,), in units of (10 mg/dL)^2.
        seconds: wall time of the training, compilation included.
    """

    params: HybridParams
    theta: dict[str, Any]
    losses: np.ndarray
    seconds: float


def with_theta(params: HybridParams, theta: dict[str, Any], fields: tuple[str, ...] = FIT_FIELDS) -> HybridParams:
    """``params`` with each field of ``fields`` scaled by ``exp(theta["log_scale"])`` and the network replaced."""
    scale = jnp.exp(theta["log_scale"])
    patient = params.patient.replace(**{f: getattr(params.patient, f) * scale[i] for i, f in enumerate(fields)})
    return params.replace(patient=patient, net=theta.get("net", params.net))


def forecast_bg(model: HybridUVAPadova, params: HybridParams, windows: Windows) -> jax.Array:
    """Glucose forecast of every window from its known start state, (B, H + 1), mg/dL (jittable, differentiable)."""

    def one(state0: Any, inputs: Any) -> jax.Array:
        return simulate_one(model, params, inputs, state0=state0, solver=SOLVER, save_states=False).outputs["bg"]

    return jax.vmap(one)(windows.state0, windows.inputs)


_forecast_jit = jax.jit(forecast_bg)


def _reading_errors(bg: jax.Array, windows: Windows) -> tuple[jax.Array, jax.Array]:
    """Forecast minus reading at each reading's minute, (B, R) mg/dL (0 where none), and the 0/1 mask of readings."""
    every = windows.cgm_every_min
    seen = ~jnp.isnan(windows.cgm_mg_dl)
    # NaN marks a minute without a reading; it is zeroed before the subtraction so that no NaN reaches the gradient.
    err = jnp.where(seen, bg[:, every::every] - jnp.where(seen, windows.cgm_mg_dl, 0.0), 0.0)
    return err, seen.astype(bg.dtype)


def _loss(model: HybridUVAPadova, params: HybridParams, theta: dict[str, Any], windows: Windows) -> jax.Array:
    err, seen = _reading_errors(forecast_bg(model, with_theta(params, theta), windows), windows)
    return jnp.sum(jnp.square(err / LOSS_SCALE_MG_DL)) / jnp.maximum(jnp.sum(seen), 1.0)


@partial(jax.jit, static_argnames=("tx",))
def _step(
    model: HybridUVAPadova,
    params: HybridParams,
    theta: dict[str, Any],
    opt: Any,
    batch: Windows,
    tx: optax.GradientTransformation,
) -> tuple[dict[str, Any], Any, jax.Array]:
    loss, grads = jax.value_and_grad(lambda th: _loss(model, params, th, batch))(theta)
    # optax mixes Python floats with int32 step counts, which strict dtype promotion refuses.
    with jax.numpy_dtype_promotion("standard"):
        updates, opt = tx.update(grads, opt, theta)
        theta = optax.apply_updates(theta, updates)
    return theta, opt, loss


@functools.cache
def _optimiser(learning_rate: float) -> optax.GradientTransformation:
    """One optimiser object per learning rate, so that `_step` compiles once for each (it is a static argument)."""
    return optax.chain(optax.clip_by_global_norm(1.0), optax.adam(learning_rate))


def fit(
    model: HybridUVAPadova,
    params: HybridParams,
    windows: Windows,
    *,
    steps: int = 300,
    learning_rate: float = 3e-3,
    batch_size: int = 32,
    seed: int = 0,
) -> FitResult:
    """Fit the fields in `FIT_FIELDS` and, when ``model.use_residual``, the network, to the windows' CGM readings.

    With ``model.use_residual=False`` the same procedure fits the base model's parameters alone: the fair baseline.

    Args:
        model: from `init_hybrid` (or its ``replace(use_residual=False)``).
        params: the starting `HybridParams`.
        windows: training windows (see `windows`).
        steps: Adam steps, each on ``batch_size`` windows drawn at random.
        learning_rate: Adam's step size.
        batch_size: windows per step (at most all of them).
        seed: seed of the batch draws.

    Returns:
        A `FitResult`.
    """
    if steps < 1 or batch_size < 1:
        raise ValueError(f"steps ({steps}) and batch_size ({batch_size}) must be at least 1.")
    dtype = jnp.asarray(params.patient.BW).dtype
    theta: dict[str, Any] = {"log_scale": jnp.zeros(len(FIT_FIELDS), dtype)}
    if model.use_residual:
        theta["net"] = params.net
    tx = _optimiser(float(learning_rate))
    with jax.numpy_dtype_promotion("standard"):
        opt = tx.init(theta)
    rng = np.random.default_rng(seed)
    batch_size = min(batch_size, windows.count)
    losses = np.zeros(steps)
    t0 = time.perf_counter()
    for i in range(steps):
        batch = windows.take(jnp.asarray(rng.choice(windows.count, batch_size, replace=False)))
        theta, opt, loss = _step(model, params, theta, opt, batch, tx)
        losses[i] = float(loss)
    seconds = time.perf_counter() - t0
    return FitResult(params=with_theta(params, theta), theta=theta, losses=losses, seconds=seconds)


def forecast_rmse(model: HybridUVAPadova, params: HybridParams, windows: Windows, *, chunk: int = 64) -> np.ndarray:
    """Root-mean-square error of each window's forecast against the true glucose after the start, (B,), mg/dL."""
    out = []
    for start in range(0, windows.count, chunk):
        part = windows.take(jnp.arange(start, min(start + chunk, windows.count)))
        bg = _forecast_jit(model, params, part)
        out.append(np.sqrt(np.mean(np.square(np.asarray(bg[:, 1:] - part.bg_mg_dl[:, 1:])), axis=1)))
    return np.concatenate(out)


def reading_rmse(model: HybridUVAPadova, params: HybridParams, windows: Windows) -> np.ndarray:
    """Root-mean-square error of each window's forecast against its CGM readings, (B,), mg/dL (NaN: no reading).

    For data whose true glucose is unknown (a real record, `record_windows`); `forecast_rmse` scores the truth.
    """
    err, seen = _reading_errors(_forecast_jit(model, params, windows), windows)
    count = np.asarray(jnp.sum(seen, axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt(np.asarray(jnp.sum(jnp.square(err), axis=1)) / count)
