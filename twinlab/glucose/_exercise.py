"""`ExerciseUVAPadova`: the UVA/Padova model plus a heart-rate driven effect of exercise (a synthetic "reality").

The base model has no exercise. This one adds the two mechanisms of Breton's model of physical activity (Breton,
J Diabetes Sci Technol 2008;2(1):169-174), in the way Dalla Man, Breton and Cobelli put them into the UVA/Padova
model (J Diabetes Sci Technol 2009;3(1):56-67): a fast state ``Y`` that follows the heart rate above rest and raises
insulin-independent glucose uptake at once, and a slow state ``Z`` that builds up while exercising and raises insulin
action for hours afterwards. Equations (minutes; ``HR`` the heart rate, bpm)::

    dY/dt = (HR - HR_rest - Y) / tau_hr                       Y: bpm above rest, filtered
    f(Y)  = (Y / y_half)^n / (1 + (Y / y_half)^n)             0..1, how strongly the exercise counts
    dZ/dt = f(Y) (1 - Z) / tau_in - Z / tau_ex                Z: 0..1, the lasting effect
    Vm0  -> Vm0 + beta Y                                      insulin-independent utilisation rises with effort
    Vmx  -> Vmx (1 + alpha Z)                                 insulin action rises, and decays over hours

This is *synthetic reality* for testing learned corrections: the structure follows the papers above, but the
parameter values (`ExerciseParams.default`) are this module's choice, of plausible size (an hour of brisk walking
lowers glucose by tens of mg/dL), not values fitted to people. ``Z`` is written normalised to 0..1 (Breton's form
with the build-up rate ``1 / tau_in`` factored out).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from twinlab.glucose._params import PatientParams
from twinlab.glucose._uva_padova import GlucoseInputs, Held, UVAPadova
from twinlab.sim import Model, SimState


class ExerciseParams(struct.PyTreeNode):
    """One person's parameters: the UVA/Padova patient plus the exercise effect (scalar leaves).

    ===============  ==================  ==============================================================
    name             unit                meaning
    ===============  ==================  ==============================================================
    patient          -                   `PatientParams` of the base model
    hr_rest_bpm      bpm                 resting heart rate
    tau_hr_min       min                 time constant of Y following the heart rate
    y_half_bpm       bpm                 heart rate above rest at which f(Y) = 1/2
    hill_n           -                   steepness of f
    tau_in_min       min                 build-up time of Z during exercise
    tau_ex_min       min                 decay time of Z after exercise
    alpha            -                   relative rise of insulin action at Z = 1
    beta             mg/kg/min per bpm   rise of insulin-independent utilisation per bpm of Y
    ===============  ==================  ==============================================================
    """

    patient: PatientParams
    hr_rest_bpm: jax.Array
    tau_hr_min: jax.Array
    y_half_bpm: jax.Array
    hill_n: jax.Array
    tau_in_min: jax.Array
    tau_ex_min: jax.Array
    alpha: jax.Array
    beta: jax.Array

    @classmethod
    def default(cls, patient: PatientParams, *, hr_rest_bpm: float = 60.0) -> ExerciseParams:
        """This module's synthetic exercise effect for ``patient`` (see the module docstring)."""
        dtype = jnp.asarray(patient.BW).dtype

        def arr(v: float) -> jax.Array:
            return jnp.asarray(v, dtype=dtype)

        return cls(
            patient=patient,
            hr_rest_bpm=arr(hr_rest_bpm),
            tau_hr_min=arr(5.0),
            y_half_bpm=arr(25.0),
            hill_n=arr(4.0),
            tau_in_min=arr(20.0),
            tau_ex_min=arr(300.0),
            alpha=arr(3.0),
            beta=arr(0.1),
        )


class ExerciseInputs(struct.PyTreeNode):
    """Per-minute inputs (each (n_minutes,) in a series): the base model's, plus the heart rate.

    Attributes:
        cho_g: carbohydrate announced at this minute, g.
        insulin_u_per_min: insulin infusion rate held over the minute, U/min.
        heart_rate_bpm: heart rate over the minute, bpm.
    """

    cho_g: jax.Array
    insulin_u_per_min: jax.Array
    heart_rate_bpm: jax.Array


class ExerciseHeld(struct.PyTreeNode):
    """What the vector field sees over a minute: the base model's held inputs and the heart rate (bpm)."""

    base: Held
    heart_rate_bpm: jax.Array


class ExerciseUVAPadova(Model):
    """UVA/Padova with exercise: 15 states, the base model's 13 then ``Y`` (bpm) and ``Z`` (-).

    Same outputs and meal handling as `UVAPadova`; with the heart rate at rest it is exactly the base model.

    Example:
        >>> import jax.numpy as jnp
        >>> import twinlab as tl
        >>> p = tl.glucose.ExerciseParams.default(tl.glucose.patient("adult#001"))
        >>> u = tl.glucose.ExerciseInputs(jnp.zeros(60), jnp.full(60, p.patient.basal_u_per_min), jnp.full(60, 120.0))
        >>> traj = tl.sim.simulate(tl.glucose.ExerciseUVAPadova(), p, u)
        >>> bool(traj.bg[-1] < traj.bg[0] - 5.0)  # an hour at 120 bpm lowers glucose
        True
    """

    time_unit: ClassVar[str] = "min"
    state_names: ClassVar[tuple[str, ...]] = (*UVAPadova.state_names, "Y", "Z")
    state_units: ClassVar[tuple[str, ...]] = (*UVAPadova.state_units, "bpm", "-")
    output_units: ClassVar[dict[str, str]] = UVAPadova.output_units

    def population_size(self, params: ExerciseParams) -> int | None:
        """Population axis of the patient parameters, or None for one person."""
        return UVAPadova().population_size(params.patient)

    def init(self, params: ExerciseParams) -> SimState:
        """The patient's basal state, at rest (Y = Z = 0)."""
        state = UVAPadova().init(params.patient)
        return state.replace(x=jnp.concatenate([state.x, jnp.zeros(2, state.x.dtype)]))

    def hold(self, state: SimState, inputs: ExerciseInputs, params: ExerciseParams) -> tuple[SimState, ExerciseHeld]:
        """The base model's meal memory; the heart rate is held over the minute."""
        state, held = UVAPadova().hold(state, GlucoseInputs(inputs.cho_g, inputs.insulin_u_per_min), params.patient)
        return state, ExerciseHeld(base=held, heart_rate_bpm=inputs.heart_rate_bpm)

    def vector_field(self, t: jax.Array, x: jax.Array, held: ExerciseHeld, params: ExerciseParams) -> jax.Array:
        """dx/dt of the 15 states, shape (15,), per minute."""
        y, z = x[13], x[14]
        ratio = jnp.maximum(y, 0.0) / params.y_half_bpm
        f = ratio**params.hill_n / (1.0 + ratio**params.hill_n)
        dy = (held.heart_rate_bpm - params.hr_rest_bpm - y) / params.tau_hr_min
        dz = f * (1.0 - z) / params.tau_in_min - z / params.tau_ex_min
        p = params.patient
        acting = p.replace(Vm0=p.Vm0 + params.beta * jnp.maximum(y, 0.0), Vmx=p.Vmx * (1.0 + params.alpha * z))
        dx = UVAPadova().vector_field(t, x[:13], held.base, acting)
        return jnp.concatenate([dx, jnp.stack([dy, dz])])

    def observe(self, state: SimState, params: ExerciseParams) -> dict[str, jax.Array]:
        """The base model's outputs (``bg`` in mg/dL and the applied inputs)."""
        return UVAPadova().observe(state, params.patient)


def heart_rate_series(
    minutes: int, sessions: Sequence[tuple[float, float, float]] = (), *, rest_bpm: float = 60.0
) -> np.ndarray:
    """A per-minute heart rate at rest with exercise sessions, shape (minutes,), bpm.

    Args:
        minutes: length of the series.
        sessions: ``(start minute, duration in minutes, heart rate in bpm)`` of each session.
        rest_bpm: heart rate outside the sessions.

    Example:
        >>> heart_rate_series(5, [(1, 2, 120.0)]).tolist()
        [60.0, 120.0, 120.0, 60.0, 60.0]
    """
    hr = np.full(int(minutes), float(rest_bpm))
    for i, session in enumerate(sessions):
        start, duration, bpm = (float(v) for v in session)
        if not (
            np.isfinite([start, duration, bpm]).all() and duration > 0 and start >= 0 and start + duration <= minutes
        ):
            raise ValueError(
                f"sessions[{i}] = {session!r} must be finite (start, duration > 0, bpm) inside [0, {minutes}) minutes. "
                "Fix: move or shorten the session, or simulate for longer."
            )
        if not 30.0 <= bpm <= 220.0:
            raise ValueError(f"sessions[{i}] has a heart rate of {bpm:g} bpm; give one between 30 and 220 bpm.")
        hr[round(start) : round(start + duration)] = bpm
    return hr


def exercise_inputs(cho_g: Any, insulin_u_per_min: Any, heart_rate_bpm: Any, *, dtype: Any = None) -> ExerciseInputs:
    """Checked per-minute `ExerciseInputs` from three series of the same length.

    Args:
        cho_g: (n_minutes,) carbohydrate announced at each minute, g (>= 0).
        insulin_u_per_min: (n_minutes,) insulin rate, U/min (>= 0).
        heart_rate_bpm: (n_minutes,) heart rate, bpm (30 to 220).
        dtype: float dtype of the arrays (default: JAX's default float).

    Raises:
        ValueError: series that are not 1-D, differ in length, hold NaN or infinity, or leave the physical range.

    Example:
        >>> u = exercise_inputs([0.0, 20.0], [0.01, 0.01], [60.0, 60.0])
        >>> u.heart_rate_bpm.shape
        (2,)
    """
    named = {"cho_g": cho_g, "insulin_u_per_min": insulin_u_per_min, "heart_rate_bpm": heart_rate_bpm}
    arrays = {k: np.asarray(v, dtype=np.float64) for k, v in named.items()}
    shapes = {k: a.shape for k, a in arrays.items()}
    if any(len(sh) != 1 for sh in shapes.values()) or len(set(shapes.values())) != 1:
        raise ValueError(
            f"the three input series must be 1-D and of the same length (one value per minute); got shapes {shapes}. "
            "Fix: give every series for the same minutes (tl.glucose.heart_rate_series builds a heart rate)."
        )
    for name, a in arrays.items():
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} holds {int(np.sum(~np.isfinite(a)))} non-finite value(s); fill or drop them.")
    if np.any(arrays["cho_g"] < 0) or np.any(arrays["insulin_u_per_min"] < 0):
        raise ValueError("carbohydrate and insulin must be >= 0 at every minute.")
    hr = arrays["heart_rate_bpm"]
    if np.any((hr < 30.0) | (hr > 220.0)):
        raise ValueError(
            f"heart_rate_bpm must lie between 30 and 220 bpm; got {hr.min():g} to {hr.max():g}. Fix: check the units "
            "(beats per minute) and remove sensor dropouts (zeros) before simulating."
        )
    return ExerciseInputs(*(jnp.asarray(arrays[k], dtype=dtype) for k in named))
