"""The 30 virtual patients of the UVA/Padova 2008 simulator as parameter pytrees.

Figures: simglucose 0.2.11's ``vpatient_params.csv`` and ``Quest.csv`` (MIT), shipped in ``twinlab/glucose/data``
with their provenance in ``data/NOTICE.md``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from twinlab.glucose._tables import lookup, read_table
from twinlab.sim import stack

#: Model parameters the UVA/Padova equations use, in the published notation (units in `PatientParams`).
MODEL_FIELDS: tuple[str, ...] = (
    "BW", "kabs", "kmax", "kmin", "b", "d", "f", "Vg", "Vi", "Vm0", "Vmx", "Km0", "k1", "k2", "p2u", "ki",
    "kp1", "kp2", "kp3", "Fsnc", "ke1", "ke2", "m1", "m2", "m4", "m30", "ka1", "ka2", "kd", "ksc", "Ib", "u2ss",
)  # fmt: skip
#: Parameters that must be strictly positive for the equations to make physical sense.
POSITIVE_FIELDS: tuple[str, ...] = (
    "BW", "kabs", "kmax", "kmin", "b", "d", "f", "Vg", "Vi", "Km0", "k1", "k2", "p2u", "ki", "m1", "m2", "m4",
    "m30", "ka1", "ka2", "kd", "ksc", "u2ss",
)  # fmt: skip


class Therapy(struct.PyTreeNode):
    """A person's insulin therapy settings (as in simglucose's ``Quest.csv``).

    Attributes:
        carb_ratio_g_per_u: grams of carbohydrate covered by one unit of insulin (CR).
        correction_mg_dl_per_u: blood-glucose drop per unit of insulin (CF).
        total_daily_insulin_u: total daily insulin (TDI).
        age_years: age.
    """

    carb_ratio_g_per_u: jax.Array
    correction_mg_dl_per_u: jax.Array
    total_daily_insulin_u: jax.Array
    age_years: jax.Array


class PatientParams(struct.PyTreeNode):
    """Parameters of one virtual patient (scalar leaves) or a population (leading axis on every leaf).

    Units (Dalla Man et al. 2007; Kovatchev et al. 2009):

    ========  ====================  ===========================================================
    name      unit                  meaning
    ========  ====================  ===========================================================
    BW        kg                    body weight
    kabs      1/min                 rate of intestinal absorption
    kmax      1/min                 maximum gastric emptying rate
    kmin      1/min                 minimum gastric emptying rate
    b, d      -                     fractions of the dose where emptying slows and recovers
    f         -                     fraction of intestinal absorption appearing in plasma
    Vg        dL/kg                 glucose distribution volume
    Vi        L/kg                  insulin distribution volume
    Vm0       mg/kg/min             insulin-independent utilisation, Michaelis-Menten Vmax
    Vmx       mg/kg/min per pmol/L  insulin-dependent utilisation gain
    Km0       mg/kg                 Michaelis-Menten constant of utilisation
    k1, k2    1/min                 glucose transfer rates, plasma <-> tissue
    p2u       1/min                 rate of insulin action on utilisation
    ki        1/min                 delay between insulin and its action on production
    kp1       mg/kg/min             extrapolated endogenous production at zero glucose and insulin
    kp2       1/min                 liver glucose effectiveness
    kp3       mg/kg/min per pmol/L  insulin action on the liver
    Fsnc      mg/kg/min             insulin-independent utilisation (brain)
    ke1       1/min                 renal filtration rate
    ke2       mg/kg                 renal threshold
    m1..m30   1/min                 insulin transfer and degradation rates (liver, plasma)
    ka1, ka2  1/min                 absorption rates of subcutaneous insulin
    kd        1/min                 subcutaneous insulin transfer rate
    ksc       1/min                 plasma -> subcutaneous glucose rate
    Ib        pmol/L                basal plasma insulin
    u2ss      pmol/kg/min           steady-state (basal) insulin infusion
    x0        (13,) mixed           initial state (see `UVAPadova` for the state table)
    ========  ====================  ===========================================================
    """

    BW: jax.Array
    kabs: jax.Array
    kmax: jax.Array
    kmin: jax.Array
    b: jax.Array
    d: jax.Array
    f: jax.Array
    Vg: jax.Array
    Vi: jax.Array
    Vm0: jax.Array
    Vmx: jax.Array
    Km0: jax.Array
    k1: jax.Array
    k2: jax.Array
    p2u: jax.Array
    ki: jax.Array
    kp1: jax.Array
    kp2: jax.Array
    kp3: jax.Array
    Fsnc: jax.Array
    ke1: jax.Array
    ke2: jax.Array
    m1: jax.Array
    m2: jax.Array
    m4: jax.Array
    m30: jax.Array
    ka1: jax.Array
    ka2: jax.Array
    kd: jax.Array
    ksc: jax.Array
    Ib: jax.Array
    u2ss: jax.Array
    x0: jax.Array
    therapy: Therapy

    @property
    def basal_u_per_min(self) -> jax.Array:
        """The steady-state basal insulin rate, U/min (u2ss * BW / 6000, as the reference)."""
        return self.u2ss * self.BW / 6000.0

    @property
    def basal_u_per_h(self) -> jax.Array:
        """The steady-state basal insulin rate, U/h."""
        return self.basal_u_per_min * 60.0


def patient_names() -> list[str]:
    """The 30 virtual patients: ``adolescent#001``..``adolescent#010``, ``adult#001``..``adult#010``,
    ``child#001``..``child#010``."""  # noqa: D205, D209
    return list(read_table("vpatient_params.csv"))


def patient(name: str, dtype: jnp.dtype | None = None) -> PatientParams:
    """One virtual patient's parameter pytree (scalar leaves; ``x0`` of shape (13,)).

    Args:
        name: one of `patient_names()`, e.g. ``"adult#001"``.
        dtype: floating dtype of the leaves (default: JAX's default float, float64 when x64 is on).

    Raises:
        ValueError: for an unknown name; the message lists the valid names.
    """
    row = lookup("vpatient_params.csv", name, "virtual patient")
    q = read_table("Quest.csv")[name]
    dtype = jnp.zeros(()).dtype if dtype is None else dtype

    def arr(v: object) -> jax.Array:
        return jnp.asarray(np.asarray(v, dtype=np.float64), dtype=dtype)

    x0 = [float(row[f"x0_{i:2d}"]) for i in range(1, 14)]
    therapy = Therapy(
        carb_ratio_g_per_u=arr(float(q["CR"])),
        correction_mg_dl_per_u=arr(float(q["CF"])),
        total_daily_insulin_u=arr(float(q["TDI"])),
        age_years=arr(float(q["Age"])),
    )
    return PatientParams(**{k: arr(float(row[k])) for k in MODEL_FIELDS}, x0=arr(x0), therapy=therapy)


def patients(names: list[str] | tuple[str, ...] | None = None, dtype: jnp.dtype | None = None) -> PatientParams:
    """Several virtual patients stacked into one population pytree (leading axis = len(names)).

    Args:
        names: patient names (default: all 30, in `patient_names()` order).
        dtype: floating dtype of the leaves.
    """
    if isinstance(names, str):
        raise TypeError("patients() takes a list of names; for one patient use tl.glucose.patient(name).")
    names = patient_names() if names is None else list(names)
    return stack([patient(n, dtype=dtype) for n in names])


def check_patient_params(params: PatientParams) -> None:
    """Raise a ValueError naming every parameter that is non-finite or non-positive where physics needs positive.

    Works on one patient or a population; skipped for traced values (inside jit or grad there is nothing to check).
    """
    leaves = jax.tree_util.tree_leaves(params)
    if any(isinstance(v, jax.core.Tracer) for v in leaves):
        return
    problems = []
    for path, v in jax.tree_util.tree_flatten_with_path(params)[0]:
        a = np.asarray(v)
        if not np.all(np.isfinite(a)):
            problems.append(f"{jax.tree_util.keystr(path)} has non-finite values")
    for k in POSITIVE_FIELDS:
        a = np.asarray(getattr(params, k))
        if np.any(a <= 0):
            problems.append(f".{k} must be > 0, got min {a.min():g}")
    x0 = np.asarray(params.x0)
    if x0.shape[-1:] != (13,):
        problems.append(f".x0 must have 13 states on its last axis, got shape {x0.shape}")
    elif np.any(x0 < 0):
        problems.append(f".x0 (initial state: masses and concentrations) must be >= 0, got min {x0.min():g}")
    if problems:
        raise ValueError(
            "Invalid patient parameters:\n  "
            + "\n  ".join(problems)
            + "\nFix: start from tl.glucose.patient(name) and change fields with .replace(...)."
        )
