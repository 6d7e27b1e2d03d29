"""`Twin`: one person's glucose twin: the model, their posterior (or fixed parameters) and their observations.

A twin is immutable: `assimilate` returns the next twin. Personalise once with NUTS, then keep it current reading by
reading; forecasts and what-ifs always use the latest beliefs and refuse a posterior the convergence gate withheld.

Example:
    >>> import jax, twinlab as tl                                          # doctest: +SKIP
    >>> twin = tl.Twin.personalise(tl.glucose.UVAPadova(), record, free=["kp2", "Vmx", "kabs"], key=jax.random.key(0))
    >>> fc = twin.forecast(120, key=jax.random.key(1)); fc.bands(0.9)
    >>> twin = twin.assimilate(new_readings, key=jax.random.key(2))
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import jax
import numpy as np

from twinlab.bayes._assimilate import GLUCOSE_DRIFT_PER_SQRT_MIN, assimilate
from twinlab.bayes._diagnostics import Diagnostics
from twinlab.bayes._drift import DRIFT_CANDIDATES, DriftChoice, refilter, tune_drift
from twinlab.bayes._forecast import Forecast, WhatIf, end_states, forecast, whatif
from twinlab.bayes._glucose import SIGMA_PRIOR_MEDIAN_MG_DL
from twinlab.bayes._personalise import personalise
from twinlab.bayes._posterior import Posterior
from twinlab.bayes._prior import Prior
from twinlab.glucose._params import PatientParams
from twinlab.glucose._record import GlucoseRecord
from twinlab.glucose._schedule import Schedule
from twinlab.glucose._uva_padova import UVAPadova


def point_posterior(model: UVAPadova, params: PatientParams, record: GlucoseRecord) -> Posterior:
    """A one-draw "posterior" for a twin with fixed parameters (nothing personalised; the gate has nothing to check).

    The initial glucose is the record's first reading; the reading error is the prior median
    (`SIGMA_PRIOR_MEDIAN_MG_DL`).
    """
    theta = np.array([[[float(record.cgm_mg_dl[0])]]]) if record.n_readings else None
    if theta is None:
        raise ValueError("a twin needs at least one CGM reading to start from.")
    if record.meal_carbs_sd_g is not None and np.any(record.meal_carbs_sd_g > 0):
        record = replace(record, meal_carbs_sd_g=None)  # a point twin takes the estimates as they are
    diag = Diagnostics({}, {}, {}, 0, (), 1, 1, "point")
    post = Posterior(
        method="point",
        prior=Prior((), np.zeros(0), np.zeros(0)),
        base=params,
        theta=theta,
        sigma_mg_dl=np.array([[SIGMA_PRIOR_MEDIAN_MG_DL]]),
        diagnostics=diag,
        minutes=record.minutes,
    )
    return replace(post, state=end_states(model, post, record, np.arange(1)))


@dataclass(frozen=True)
class Twin:
    """One person's twin.

    Attributes:
        model: the simulator (`tl.glucose.UVAPadova`).
        posterior: the current beliefs about the person's parameters (a `tl.bayes.Posterior`; method "point" for a
            twin with fixed parameters).
        record: every observation the twin has seen, minute 0 its start (a `tl.glucose.GlucoseRecord`).
        name: who the twin is of.
        glucose_drift_per_sqrt_min: the model error `assimilate` allows by default (see `tl.bayes.assimilate`);
            `tune_drift` sets it from the person's own readings.
    """

    model: UVAPadova
    posterior: Posterior
    record: GlucoseRecord
    name: str = ""
    glucose_drift_per_sqrt_min: float = GLUCOSE_DRIFT_PER_SQRT_MIN

    def __post_init__(self) -> None:
        if self.posterior.minutes != self.record.minutes:
            raise ValueError(
                f"the posterior has seen {self.posterior.minutes} minutes but the record holds {self.record.minutes}."
            )
        q = self.glucose_drift_per_sqrt_min
        if not (np.isfinite(q) and 0.0 <= q < 0.2):
            raise ValueError(f"glucose_drift_per_sqrt_min must be finite and in [0, 0.2); got {q!r}")

    @classmethod
    def from_params(cls, model: UVAPadova, params: PatientParams, record: GlucoseRecord, name: str = "") -> Twin:
        """A twin with fixed parameters (for example a virtual patient, or the population model) and observations."""
        return cls(model, point_posterior(model, params, record), record, name or record.subject)

    @classmethod
    def personalise(
        cls,
        model: UVAPadova,
        record: GlucoseRecord,
        free: Sequence[str] = ("kp2", "Vmx", "kabs"),
        *,
        key: jax.Array,
        method: str = "nuts",
        **options: Any,
    ) -> Twin:
        """Personalise a twin to ``record`` (see `tl.bayes.personalise` for ``options``)."""
        post = personalise(model, record, free, method=method, key=key, **options)
        return cls(model, post, record, record.subject)

    @property
    def ok(self) -> bool:
        """Whether the twin's posterior passes the convergence gate."""
        return self.posterior.ok

    @property
    def minutes(self) -> int:
        """Minutes of observations the twin has seen."""
        return self.record.minutes

    def forecast(
        self, horizon_min: int = 120, *, key: jax.Array, plan: Schedule | None = None, allow_withheld: bool = False
    ) -> Forecast:
        """Glucose ahead under ``plan`` (minutes from now), with credible bands (see `tl.bayes.forecast`)."""
        return forecast(self.model, self.posterior, self.record, horizon_min, key=key, plan=plan,
                        allow_withheld=allow_withheld)  # fmt: skip

    def whatif(
        self,
        horizon_min: int,
        *,
        changed: Schedule,
        key: jax.Array,
        plan: Schedule | None = None,
        allow_withheld: bool = False,
    ) -> WhatIf:
        """The forecast under ``plan`` and under ``changed``, paired draw by draw (see `tl.bayes.whatif`)."""
        return whatif(self.model, self.posterior, self.record, horizon_min, plan=plan, changed=changed, key=key,
                      allow_withheld=allow_withheld)  # fmt: skip

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the twin (model, posterior with its states, record) to ``path`` atomically (`twinlab.io`)."""
        from twinlab import io

        return io.save(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Twin:
        """Read a twin written by `save`; a damaged or foreign file is a `twinlab.io.FormatError`."""
        from twinlab import io

        obj = io.load(path)
        if not isinstance(obj, cls):
            raise io.FormatError(f"{path} holds a {type(obj).__name__}, not a twin; load it with twinlab.io.load.")
        return obj

    def assimilate(
        self,
        new_data: GlucoseRecord,
        *,
        key: jax.Array,
        glucose_drift_per_sqrt_min: float | None = None,
        allow_withheld: bool = False,
    ) -> Twin:
        """The twin after ``new_data`` (minute 0 = now): beliefs updated by the particle filter, record extended.

        ``glucose_drift_per_sqrt_min`` is the filter's model error (see `tl.bayes.assimilate`); None uses the twin's
        own (`glucose_drift_per_sqrt_min`, tuned by `tune_drift`).
        """
        q = self.glucose_drift_per_sqrt_min if glucose_drift_per_sqrt_min is None else glucose_drift_per_sqrt_min
        post = assimilate(self.model, self.posterior, new_data, key=key, allow_withheld=allow_withheld,
                          glucose_drift_per_sqrt_min=q)  # fmt: skip
        return replace(self, posterior=post, record=self.record.append(new_data))

    def tune_drift(
        self,
        new_data: GlucoseRecord,
        *,
        key: jax.Array,
        candidates: tuple[float, ...] = DRIFT_CANDIDATES,
        allow_withheld: bool = False,
    ) -> tuple[Twin, DriftChoice]:
        """Assimilate ``new_data`` choosing the model error by the person's own readings (see `tl.bayes.tune_drift`).

        Returns:
            The twin after ``new_data``, keeping the chosen drift for its later assimilations, and the `DriftChoice`
            (every candidate's evidence).
        """
        choice = tune_drift(self.model, self.posterior, new_data, key=key, candidates=candidates,
                            allow_withheld=allow_withheld)  # fmt: skip
        twin = replace(self, posterior=choice.posterior, record=self.record.append(new_data),
                       glucose_drift_per_sqrt_min=choice.drift_per_sqrt_min)  # fmt: skip
        return twin, choice

    def refilter(
        self, *, key: jax.Array, candidates: tuple[float, ...] = DRIFT_CANDIDATES, allow_withheld: bool = False
    ) -> tuple[Twin, DriftChoice]:
        """The twin with its state filtered through its own record and its model error tuned (see `tl.bayes.refilter`).

        Call it right after `personalise`. Returns the twin (same record, filtered states, the chosen drift kept for
        later assimilations) and the `DriftChoice`.
        """
        choice = refilter(self.model, self.posterior, self.record, key=key, candidates=candidates,
                          allow_withheld=allow_withheld)  # fmt: skip
        return replace(self, posterior=choice.posterior, glucose_drift_per_sqrt_min=choice.drift_per_sqrt_min), choice
