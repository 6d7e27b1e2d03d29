"""Priors for personalisation: by default the virtual population's spread of each free parameter (log-normal)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from twinlab.glucose._params import MODEL_FIELDS, patient_names, patients

#: Cohorts of the virtual population.
GROUPS = ("adolescent", "adult", "child")


@dataclass(frozen=True, eq=False)
class Prior:
    """Independent log-normal priors on positive parameters: ``log(theta) ~ Normal(loc, scale)``.

    Attributes:
        names: parameter names (fields of `tl.glucose.PatientParams`).
        loc: (k,) means of the log-parameters.
        scale: (k,) standard deviations of the log-parameters.

    Example:
        >>> p = Prior(("Vmx",), np.array([np.log(0.05)]), np.array([0.3]))
        >>> round(float(p.median()["Vmx"]), 3)
        0.05
    """

    names: tuple[str, ...]
    loc: np.ndarray
    scale: np.ndarray

    def __post_init__(self) -> None:
        loc = np.asarray(self.loc, dtype=np.float64)
        scale = np.asarray(self.scale, dtype=np.float64)
        if loc.shape != (len(self.names),) or scale.shape != loc.shape:
            raise ValueError(
                f"loc and scale need one value per name ({len(self.names)}); got {loc.shape}, {scale.shape}"
            )
        if not (np.all(np.isfinite(loc)) and np.all(np.isfinite(scale)) and np.all(scale > 0)):
            raise ValueError(f"prior locations must be finite and scales positive; got loc={loc}, scale={scale}.")
        object.__setattr__(self, "loc", loc)
        object.__setattr__(self, "scale", scale)

    def __eq__(self, other: object) -> bool:
        # By value: a prior is static metadata of jit-compiled likelihoods, compared and hashed by JAX's caches.
        return (
            isinstance(other, Prior)
            and self.names == other.names
            and np.array_equal(self.loc, other.loc)
            and np.array_equal(self.scale, other.scale)
        )

    def __hash__(self) -> int:
        return hash((self.names, self.loc.tobytes(), self.scale.tobytes()))

    def median(self) -> dict[str, float]:
        """The prior median of each parameter (natural units)."""
        return {n: float(np.exp(m)) for n, m in zip(self.names, self.loc, strict=True)}

    def interval(self, mass: float = 0.9) -> dict[str, tuple[float, float]]:
        """Central prior interval of each parameter holding ``mass`` of the prior (natural units)."""
        from scipy.special import ndtri

        z = float(ndtri(0.5 + mass / 2))
        return {
            n: (float(np.exp(m - z * s)), float(np.exp(m + z * s)))
            for n, m, s in zip(self.names, self.loc, self.scale, strict=True)
        }


def population_prior(
    free: Sequence[str], *, group: str | None = None, min_scale: float = 0.1, inflate: float = 1.0
) -> Prior:
    """The virtual population's between-person variability as a prior on ``free`` parameters.

    For each parameter the log-values of the 30 published virtual patients (or of one cohort) give the prior's mean
    and standard deviation; ``inflate`` widens it (a real person may lie outside the virtual cohort), ``min_scale``
    keeps parameters that barely vary across the cohort learnable.

    Args:
        free: names of fields of `tl.glucose.PatientParams` to personalise.
        group: "adolescent", "adult" or "child" for one cohort; None for all 30.
        min_scale: smallest log-scale standard deviation.
        inflate: factor on the cohort's log-scale standard deviation.

    Raises:
        ValueError: an unknown or non-positive parameter, or an unknown group.
    """
    free = tuple(free)
    unknown = [n for n in free if n not in MODEL_FIELDS]
    if unknown:
        raise ValueError(f"unknown parameters {unknown}; personalisable fields: {', '.join(MODEL_FIELDS)}")
    if len(set(free)) != len(free) or not free:
        raise ValueError(f"free must name each parameter once and at least one; got {list(free)}")
    if group is not None and group not in GROUPS:
        raise ValueError(f"group must be one of {GROUPS} or None; got {group!r}")
    names = [n for n in patient_names() if group is None or n.startswith(group)]
    pop = patients(names)
    values = np.stack([np.asarray(getattr(pop, n), dtype=np.float64) for n in free], axis=1)
    if np.any(values <= 0):
        bad = [n for i, n in enumerate(free) if np.any(values[:, i] <= 0)]
        raise ValueError(f"{bad} are not positive in every virtual patient, so a log-normal prior does not fit them.")
    logs = np.log(values)
    scale = np.maximum(inflate * logs.std(axis=0, ddof=1), min_scale)
    return Prior(free, logs.mean(axis=0), scale)
