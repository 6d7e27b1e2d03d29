"""The UVA/Padova 2008 type 1 diabetes model (13 states), as simglucose 0.2.11 implements it, in JAX."""

from __future__ import annotations

from typing import ClassVar

import jax
import jax.numpy as jnp
from flax import struct

from twinlab.glucose._params import PatientParams
from twinlab.sim import Model, SimState, population_size

#: Most carbohydrate a person eats in one minute, g/min; a larger planned meal is eaten over several minutes.
EAT_RATE_G_PER_MIN = 5.0
#: pmol of insulin in one unit (U).
PMOL_PER_U = 6000.0


class MealMemory(struct.PyTreeNode):
    """Discrete meal state carried between minutes (all scalars for one patient).

    Attributes:
        planned_g: announced carbohydrate not yet eaten, g.
        last_eaten_g: carbohydrate eaten in the previous minute, g.
        stomach_at_start_mg: stomach content when the current meal started, mg (``last_Qsto`` of the reference).
        eaten_g: carbohydrate eaten since the current meal started, g (``last_foodtaken``).
        eating: whether a meal is in progress.
    """

    planned_g: jax.Array
    last_eaten_g: jax.Array
    stomach_at_start_mg: jax.Array
    eaten_g: jax.Array
    eating: jax.Array


class GlucoseInputs(struct.PyTreeNode):
    """Per-minute inputs of the UVA/Padova model (each of shape (n_minutes,) in a series, scalars in one step).

    Attributes:
        cho_g: carbohydrate announced at this minute, g (eaten at most `EAT_RATE_G_PER_MIN`).
        insulin_u_per_min: subcutaneous insulin infusion rate held over the minute, U/min.
    """

    cho_g: jax.Array
    insulin_u_per_min: jax.Array


class Held(struct.PyTreeNode):
    """What the vector field sees over one minute: the eating rate, the insulin rate and the meal size Dbar."""

    eat_g_per_min: jax.Array
    insulin_u_per_min: jax.Array
    dbar_mg: jax.Array


class UVAPadova(Model):
    """The UVA/Padova 2008 simulator's patient model (Dalla Man et al. 2007; Kovatchev et al. 2009).

    Written from the published equations as simglucose 0.2.11 implements them (``t1dpatient.py``), including its
    meal handling: an announced meal is eaten at most 5 g/min; the gastric-emptying memory ``Dbar`` is set when
    eating starts (stomach content then, plus all carbohydrate eaten since, in mg: the fix of simglucose issue #41);
    insulin is a rate held for the minute. Time is in minutes; one simulation step is one minute.

    States (``x``):

    ===  ========  ========  ==========================================
    idx  name      unit      meaning
    ===  ========  ========  ==========================================
    0    Qsto1     mg        solid glucose in the stomach
    1    Qsto2     mg        liquid glucose in the stomach
    2    Qgut      mg        glucose in the intestine
    3    Gp        mg/kg     plasma glucose mass
    4    Gt        mg/kg     tissue glucose mass
    5    Ip        pmol/kg   plasma insulin mass
    6    X         pmol/L    insulin action on utilisation
    7    I1        pmol/L    delayed insulin signal (1st compartment)
    8    Id        pmol/L    delayed insulin action on production
    9    Il        pmol/kg   liver insulin mass
    10   Isc1      pmol/kg   subcutaneous insulin, 1st compartment
    11   Isc2      pmol/kg   subcutaneous insulin, 2nd compartment
    12   Gs        mg/kg     subcutaneous glucose mass
    ===  ========  ========  ==========================================

    Outputs: ``bg`` (mg/dL) is ``Gs / Vg``, the value simglucose reports as blood glucose (its ``Gsub``; see
    simglucose issue #20); ``plasma_glucose`` (mg/dL) is ``Gp / Vg``; ``plasma_insulin`` (pmol/L) is ``Ip / Vi``;
    ``eaten_g_per_min`` and ``insulin_u_per_min`` are the inputs applied over the minute that ended at each time
    (zero at the start).

    Differentiability: the vector field is smooth except at a few switches taken from the reference, where JAX
    gives a one-sided derivative: endogenous production ``max(EGP, 0)`` (active only at very high insulin), renal
    excretion above the threshold ``ke2`` (339 mg/kg, i.e. above about 180-215 mg/dL), the non-negativity guards
    ``(x >= 0) * dx`` (never active along physical trajectories) and the start of a meal (a discrete event in time,
    not in a parameter). Gradients are exact almost everywhere; ``jnp.where`` branches are written so that the
    untaken branch never produces NaN (the ``Dbar > 0`` switch divides by a safe denominator).
    """

    time_unit: ClassVar[str] = "min"
    state_names: ClassVar[tuple[str, ...]] = (
        "Qsto1", "Qsto2", "Qgut", "Gp", "Gt", "Ip", "X", "I1", "Id", "Il", "Isc1", "Isc2", "Gs",
    )  # fmt: skip
    state_units: ClassVar[tuple[str, ...]] = (
        "mg", "mg", "mg", "mg/kg", "mg/kg", "pmol/kg", "pmol/L", "pmol/L", "pmol/L", "pmol/kg", "pmol/kg",
        "pmol/kg", "mg/kg",
    )  # fmt: skip
    output_units: ClassVar[dict[str, str]] = {
        "bg": "mg/dL",
        "plasma_glucose": "mg/dL",
        "plasma_insulin": "pmol/L",
        "eaten_g_per_min": "g/min",
        "insulin_u_per_min": "U/min",
    }

    def population_size(self, params: PatientParams) -> int | None:
        """Population axis of ``params`` (``x0`` carries 13 states per individual), or None for one patient."""
        x0 = jnp.asarray(params.x0)
        if x0.shape[-1:] != (13,):
            raise ValueError(f"params.x0 must hold the 13 initial states on its last axis; got shape {x0.shape}.")
        return population_size(params.replace(x0=x0[..., 0]))

    def init(self, params: PatientParams) -> SimState:
        """The patient's published initial (basal steady) state, with no meal in progress."""
        x0 = jnp.asarray(params.x0)
        zero = jnp.zeros((), x0.dtype)
        memory = MealMemory(
            planned_g=zero,
            last_eaten_g=zero,
            stomach_at_start_mg=x0[0] + x0[1],
            eaten_g=zero,
            eating=jnp.zeros((), bool),
        )
        held = Held(eat_g_per_min=zero, insulin_u_per_min=zero, dbar_mg=x0[0] + x0[1])
        return SimState(x=x0, z=(memory, held))

    def hold(self, state: SimState, inputs: GlucoseInputs, params: PatientParams) -> tuple[SimState, Held]:
        """Turn the minute's announced carbohydrate into what is eaten now, and update the meal memory."""
        del params
        m, _ = state.z
        planned = m.planned_g + inputs.cho_g
        eat = jnp.where(planned > 0, jnp.minimum(EAT_RATE_G_PER_MIN, planned), 0.0)
        planned = jnp.maximum(planned - eat, 0.0)
        starts = (eat > 0) & (m.last_eaten_g <= 0)
        stomach = jnp.where(starts, state.x[0] + state.x[1], m.stomach_at_start_mg)
        eaten = jnp.where(starts, 0.0, m.eaten_g)
        eating = m.eating | starts
        eaten = eaten + jnp.where(eating, eat, 0.0)
        eating = eating & ~((eat <= 0) & (m.last_eaten_g > 0))
        memory = MealMemory(
            planned_g=planned, last_eaten_g=eat, stomach_at_start_mg=stomach, eaten_g=eaten, eating=eating
        )
        held = Held(eat_g_per_min=eat, insulin_u_per_min=inputs.insulin_u_per_min, dbar_mg=stomach + eaten * 1000.0)
        return state.replace(z=(memory, held)), held

    def vector_field(self, t: jax.Array, x: jax.Array, held: Held, params: PatientParams) -> jax.Array:
        """dx/dt of the 13 states, shape (13,), per minute."""
        del t
        p = params
        d_mg_per_min = held.eat_g_per_min * 1000.0
        insulin = held.insulin_u_per_min * PMOL_PER_U / p.BW  # pmol/kg/min

        qsto = x[0] + x[1]
        dbar = held.dbar_mg
        safe = jnp.where(dbar > 0, dbar, 1.0)  # keeps the untaken branch finite for gradients
        aa = 5.0 / (2.0 * safe * (1.0 - p.b))
        cc = 5.0 / (2.0 * safe * p.d)
        kgut_meal = p.kmin + (p.kmax - p.kmin) / 2.0 * (
            jnp.tanh(aa * (qsto - p.b * safe)) - jnp.tanh(cc * (qsto - p.d * safe)) + 2.0
        )
        kgut = jnp.where(dbar > 0, kgut_meal, p.kmax)

        dqsto1 = -p.kmax * x[0] + d_mg_per_min
        dqsto2 = p.kmax * x[0] - x[1] * kgut
        dqgut = kgut * x[1] - p.kabs * x[2]

        ra = p.f * p.kabs * x[2] / p.BW
        egp = p.kp1 - p.kp2 * x[3] - p.kp3 * x[8]
        renal = jnp.where(x[3] > p.ke2, p.ke1 * (x[3] - p.ke2), 0.0)
        dgp = jnp.maximum(egp, 0.0) + ra - p.Fsnc - renal - p.k1 * x[3] + p.k2 * x[4]

        vmt = p.Vm0 + p.Vmx * x[6]
        uid = vmt * x[4] / (p.Km0 + x[4])
        dgt = -uid + p.k1 * x[3] - p.k2 * x[4]

        dip = -(p.m2 + p.m4) * x[5] + p.m1 * x[9] + p.ka1 * x[10] + p.ka2 * x[11]
        it = x[5] / p.Vi
        dx_act = -p.p2u * x[6] + p.p2u * (it - p.Ib)
        di1 = -p.ki * (x[7] - it)
        did = -p.ki * (x[8] - x[7])
        dil = -(p.m1 + p.m30) * x[9] + p.m2 * x[5]
        disc1 = insulin - (p.ka1 + p.kd) * x[10]
        disc2 = p.kd * x[10] - p.ka2 * x[11]
        dgs = -p.ksc * x[12] + p.ksc * x[3]

        dx = jnp.stack([dqsto1, dqsto2, dqgut, dgp, dgt, dip, dx_act, di1, did, dil, disc1, disc2, dgs])
        # The reference freezes these masses at zero rather than letting them go negative.
        guarded = jnp.array([False, False, False, True, True, True, False, False, False, True, True, True, True])
        return jnp.where(guarded & (x < 0), 0.0, dx)

    def observe(self, state: SimState, params: PatientParams) -> dict[str, jax.Array]:
        """Blood glucose and the applied inputs; see the class docstring for units."""
        x = state.x
        _, held = state.z
        return {
            "bg": x[12] / params.Vg,
            "plasma_glucose": x[3] / params.Vg,
            "plasma_insulin": x[5] / params.Vi,
            "eaten_g_per_min": held.eat_g_per_min,
            "insulin_u_per_min": held.insulin_u_per_min,
        }
