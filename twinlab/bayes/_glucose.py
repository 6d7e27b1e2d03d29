"""The glucose twin's likelihood: a person's record as arrays, the simulator run from it, and the NumPyro model.

One person's parameters are ``log(theta) = prior.loc + prior.scale * z`` with ``z ~ Normal(0, 1)`` (non-centred: the
sampler sees unit-scale, nearly independent coordinates). A meal whose carbohydrate is an estimate is a latent
``carbs = estimate * exp(s * eps)``, ``eps ~ Normal(0, 1)``, with ``s`` from the estimate's standard deviation
(log-normal, median at the estimate). The initial glucose is a latent around the first reading (a noisy reading
would otherwise bias every parameter). CGM readings follow a Student-t (5 degrees of freedom) around the model's
subcutaneous glucose, so a few sensor artefacts do not drag the fit. A group of people shares one model with a
leading person axis: independent priors, or partial pooling through population hyper-parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from flax import struct

from twinlab.bayes._prior import Prior
from twinlab.glucose._params import PatientParams
from twinlab.glucose._record import GlucoseRecord
from twinlab.glucose._uva_padova import GlucoseInputs, UVAPadova
from twinlab.sim import RK4, SimState

#: RK4 with one step per minute: within 0.25 mg/dL of the accuracy-grade solver (tests/glucose/test_accuracy.py
#: uses two sub-steps), far below CGM noise, at half the cost; inference runs the simulator thousands of times.
INFERENCE_SOLVER = RK4(substeps=1)
#: Degrees of freedom of the Student-t CGM error.
STUDENT_DF = 5.0
#: Prior on the CGM error scale, mg/dL: log-normal with median 10 and log-sd 0.5 (MARD of about 9% plus model error).
SIGMA_PRIOR_MEDIAN_MG_DL = 10.0
SIGMA_PRIOR_LOG_SD = 0.5
#: Prior standard deviation of the initial glucose around the first reading, mg/dL (the reading is noisy).
BG0_PRIOR_SD_MG_DL = 15.0
#: Indices of the glucose masses (Gp, Gt, Gs) scaled so that the initial state matches the first reading.
_GLUCOSE_STATES = (3, 4, 12)


class GlucoseData(struct.PyTreeNode):
    """One person's record as arrays on a grid of ``T`` minutes (leading person axis P for a group).

    Attributes:
        cho_g: (T,) announced carbohydrate per minute, g (estimates where unknown).
        bolus_u: (T,) bolus insulin per minute, U.
        basal_u_per_h: (T,) scheduled basal rate, U/h (0 where ``own_basal``).
        own_basal: (T,) 1 on minutes at the person's own steady-state basal rate.
        meal_minute: (M,) minutes of the meals whose carbohydrate is uncertain.
        meal_log_sd: (M,) log-scale standard deviation of those meals' carbohydrate.
        obs_minute: (n,) reading minutes (0..T).
        obs_mg_dl: (n,) CGM readings, mg/dL.
        obs_mask: (n,) 1.0 for a real reading, 0.0 for padding.
        bg0_mg_dl: () the glucose the initial state is scaled to (the first reading).
    """

    cho_g: jax.Array
    bolus_u: jax.Array
    basal_u_per_h: jax.Array
    own_basal: jax.Array
    meal_minute: jax.Array
    meal_log_sd: jax.Array
    obs_minute: jax.Array
    obs_mg_dl: jax.Array
    obs_mask: jax.Array
    bg0_mg_dl: jax.Array

    @property
    def minutes(self) -> int:
        """Length of the grid, minutes."""
        return int(self.cho_g.shape[-1])


def record_data(
    record: GlucoseRecord, minutes: int | None = None, n_obs: int | None = None, *, require_readings: bool = True
) -> GlucoseData:
    """Arrays of one `GlucoseRecord`, padded to ``minutes`` and ``n_obs`` readings (to stack a group).

    A record without readings is an error unless ``require_readings`` is False (its ``bg0_mg_dl`` is then NaN).
    """
    if record.n_readings == 0 and require_readings:
        raise ValueError(f"record of {record.subject or 'this person'} holds no CGM readings to learn from.")
    t_len = record.minutes if minutes is None else int(minutes)
    n = record.n_readings if n_obs is None else int(n_obs)
    if t_len < record.minutes or n < record.n_readings:
        raise ValueError(f"cannot pad a record of {record.minutes} min / {record.n_readings} readings to {t_len} / {n}")
    cho, bolus, rate, own = (np.pad(a, (0, t_len - record.minutes)) for a in record.schedule.arrays(record.minutes))
    meals = record.schedule._meals
    sd = np.zeros(len(meals)) if record.meal_carbs_sd_g is None else record.meal_carbs_sd_g
    uncertain = [(m, a, s) for (m, a), s in zip(meals, sd, strict=True) if s > 0 and a > 0]
    meal_minute = np.array([m for m, _, _ in uncertain], dtype=np.int32)
    meal_log_sd = np.array([np.sqrt(np.log1p((s / a) ** 2)) for _, a, s in uncertain])
    pad = n - record.n_readings
    obs_minute = np.concatenate([record.cgm_minute.astype(np.int32), np.zeros(pad, np.int32)])
    fill = record.cgm_mg_dl[-1] if record.n_readings else np.nan
    obs = np.concatenate([record.cgm_mg_dl, np.full(pad, fill)])
    mask = np.concatenate([np.ones(record.n_readings), np.zeros(pad)])
    return GlucoseData(
        cho_g=jnp.asarray(cho),
        bolus_u=jnp.asarray(bolus),
        basal_u_per_h=jnp.asarray(rate),
        own_basal=jnp.asarray(own),
        meal_minute=jnp.asarray(meal_minute),
        meal_log_sd=jnp.asarray(meal_log_sd),
        obs_minute=jnp.asarray(obs_minute),
        obs_mg_dl=jnp.asarray(obs),
        obs_mask=jnp.asarray(mask),
        bg0_mg_dl=jnp.asarray(record.cgm_mg_dl[0] if record.n_readings else np.nan),
    )


def stack_data(records: Sequence[GlucoseRecord]) -> GlucoseData:
    """Arrays of several people with a leading person axis; records are padded to the longest."""
    if not records:
        raise ValueError("no records given")
    n_meals = {int(np.sum(record_data(r).meal_log_sd.shape[0])) for r in records}
    if len(n_meals) > 1:
        raise ValueError(
            f"records differ in their number of uncertain meals ({sorted(n_meals)}); a group fit needs the same "
            "number per person. Fix: fit them separately, or give known carbohydrate (meal_carbs_sd_g=None)."
        )
    t_len = max(r.minutes for r in records)
    n = max(r.n_readings for r in records)
    data = [record_data(r, t_len, n) for r in records]
    return jax.tree.map(lambda *xs: jnp.stack(xs), *data)


def with_params(base: PatientParams, names: Sequence[str], values: jax.Array) -> PatientParams:
    """``base`` with the fields ``names`` set to ``values`` (shape (..., k), natural units)."""
    return base.replace(**{n: values[..., i] for i, n in enumerate(names)})


def initial_state(model: UVAPadova, params: PatientParams, bg0_mg_dl: jax.Array) -> SimState:
    """The published basal state with its glucose masses scaled to start at ``bg0_mg_dl`` (the first reading)."""
    state = model.init(params)
    ratio = bg0_mg_dl / (params.x0[12] / params.Vg)
    mask = np.isin(np.arange(13), _GLUCOSE_STATES)
    return state.replace(x=jnp.where(mask, state.x * ratio, state.x))


def rollout(
    model: UVAPadova, params: PatientParams, state: SimState, inputs: GlucoseInputs, solver: Any = INFERENCE_SOLVER
) -> tuple[SimState, jax.Array]:
    """Step one person through per-minute ``inputs`` (leaves (T,)); returns the final state and BG (T,), mg/dL.

    ``bg[i]`` is the glucose at the end of minute ``i`` (minute ``i + 1`` of the clock).
    """

    def body(state: SimState, u: GlucoseInputs) -> tuple[SimState, jax.Array]:
        state, held = model.hold(state, u, params)
        x = solver.step(lambda s, x, a: model.vector_field(s, x, a[0], a[1]), 0.0, state.x, 1.0, (held, params))
        return state.replace(x=x), x[12] / params.Vg

    return jax.lax.scan(body, state, inputs)


def inputs_of(params: PatientParams, data: GlucoseData, meal_eps: jax.Array) -> GlucoseInputs:
    """Per-minute model inputs with the uncertain meals scaled by ``exp(meal_log_sd * meal_eps)``."""
    factor = jnp.exp(data.meal_log_sd * meal_eps)
    cho = data.cho_g.at[data.meal_minute].multiply(factor, unique_indices=True)
    basal = data.own_basal * params.basal_u_per_min + data.basal_u_per_h / 60.0
    return GlucoseInputs(cho_g=cho, insulin_u_per_min=basal + data.bolus_u)


def forward_mode_grad(f: Callable[[jax.Array, Any], jax.Array]) -> Callable[[jax.Array, Any], jax.Array]:
    """``f(theta, data)`` whose reverse-mode derivative in ``theta`` is computed by forward mode.

    A long simulation has few parameters and many steps: pushing k tangents forward through the scan costs about
    3 forward passes for k <= 6, while reverse mode stores and replays every step (14x a forward pass measured on
    a day of the glucose model). ``data`` gets zero cotangents.
    """

    @jax.custom_vjp
    def g(theta: jax.Array, data: Any) -> jax.Array:
        return f(theta, data)

    def fwd(theta: jax.Array, data: Any) -> tuple[jax.Array, Any]:
        def both(th: jax.Array) -> tuple[jax.Array, jax.Array]:
            y = f(th, data)
            return y, y

        jac, y = jax.jacfwd(both, has_aux=True)(theta)
        return y, (jac, data)

    def bwd(res: Any, ct: jax.Array) -> tuple[jax.Array, Any]:
        jac, data = res

        def zero(x: jax.Array) -> Any:
            if jnp.issubdtype(x.dtype, jnp.inexact):
                return jnp.zeros_like(x)
            return np.zeros(x.shape, dtype=jax.dtypes.float0)

        return jnp.tensordot(ct, jac, axes=ct.ndim), jax.tree.map(zero, data)

    g.defvjp(fwd, bwd)
    return g


class GlucoseLikelihood(struct.PyTreeNode):
    """How the model, base parameters and prior turn ``theta`` into predicted readings.

    ``theta`` = [k log-parameters, the initial glucose bg0 (mg/dL), M meal eps].

    Attributes:
        model: the UVA/Padova model.
        base: the parameters that stay fixed (one person; or a group with a leading axis P).
        prior: the free parameters' prior (static).
        solver: integrator.
    """

    model: UVAPadova = struct.field(pytree_node=False)
    base: PatientParams
    prior: Prior = struct.field(pytree_node=False)
    solver: Any = struct.field(pytree_node=False, default=INFERENCE_SOLVER)

    @property
    def k(self) -> int:
        """Number of free model parameters."""
        return len(self.prior.names)

    def params(self, log_theta: jax.Array, base: PatientParams | None = None) -> PatientParams:
        """Parameters with the free ones at ``exp(log_theta)``."""
        return with_params(self.base if base is None else base, self.prior.names, jnp.exp(log_theta))

    def predict_one(self, theta: jax.Array, data: GlucoseData, base: PatientParams) -> jax.Array:
        """Predicted readings (n,) of one person from ``theta`` = [log-parameters (k), bg0 (mg/dL), meal eps (M)]."""
        params = self.params(theta[: self.k], base)
        state = initial_state(self.model, params, theta[self.k])
        _, bg = rollout(self.model, params, state, inputs_of(params, data, theta[self.k + 1 :]), self.solver)
        bg = jnp.concatenate([(state.x[12] / params.Vg)[None], bg])
        return bg[data.obs_minute]


def numpyro_model(lik: GlucoseLikelihood, data: GlucoseData, *, hierarchical: bool = False) -> None:
    """The NumPyro model of a group of P people (``data`` and ``lik.base`` lead with P).

    Sites: ``z`` (P, k) standardised parameters; ``bg0_eps`` (P,) the initial glucose's offset from the first
    reading in units of `BG0_PRIOR_SD_MG_DL`; ``meal_eps`` (P, M); ``sigma_mg_dl`` (P,); with ``hierarchical``
    also ``mu`` (k,) and ``tau`` (k,), the population's log-mean and log-sd (partial pooling); observed ``cgm``.
    """
    n_people = data.obs_mg_dl.shape[0]
    loc = jnp.asarray(lik.prior.loc)
    scale = jnp.asarray(lik.prior.scale)
    if hierarchical:
        loc = numpyro.sample("mu", dist.Normal(loc, scale).to_event(1))
        scale = numpyro.sample("tau", dist.HalfNormal(scale).to_event(1))
    with numpyro.plate("person", n_people):
        z = numpyro.sample("z", dist.Normal(0.0, 1.0).expand([lik.k]).to_event(1))
        n_meals = data.meal_minute.shape[-1]
        eps = (
            numpyro.sample("meal_eps", dist.Normal(0.0, 1.0).expand([n_meals]).to_event(1))
            if n_meals
            else jnp.zeros((n_people, 0))
        )
        bg0_eps = numpyro.sample("bg0_eps", dist.Normal(0.0, 1.0))
        bg0 = data.bg0_mg_dl + BG0_PRIOR_SD_MG_DL * bg0_eps
        sigma = numpyro.sample("sigma_mg_dl", dist.LogNormal(jnp.log(SIGMA_PRIOR_MEDIAN_MG_DL), SIGMA_PRIOR_LOG_SD))
        theta = jnp.concatenate([loc[None, :] + scale[None, :] * z, bg0[:, None], eps], axis=-1)
        predict = forward_mode_grad(lambda th, d: jax.vmap(lik.predict_one)(th, d[0], d[1]))
        mean = predict(theta, (data, lik.base))
        numpyro.sample(
            "cgm",
            dist.StudentT(STUDENT_DF, mean, sigma[:, None]).mask(data.obs_mask > 0).to_event(1),
            obs=data.obs_mg_dl,
        )
