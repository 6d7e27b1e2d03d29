"""`tune_drift`: choose the particle filter's model error for one person by the evidence of their own readings.

`assimilate` lets each particle's glucose drift as a random walk (``glucose_drift_per_sqrt_min``, q) because a person
is never exactly the model. How far a real person strays from the model differs from person to person: the default
q = 0.01 was chosen on virtual people, whose only model error is a wrong reference patient. The filter's log evidence,
the sum over readings of log p(reading | readings before it), is the standard score for a state-space model's static
settings: it rewards a q that lets the particles follow the readings and penalises one so loose that the predictive
density spreads thin. `tune_drift` runs the filter over the same stretch of readings once per candidate q, with the
same random numbers for every candidate, and keeps the candidate with the highest evidence.

`refilter` does the same over the record a posterior was fitted on, from its first minute. A fit's own end-of-data
states are open-loop simulations of each draw through the whole record, and after a day a real person's glucose can
lie far from all of them (measured on D1NAMO in ``benchmarks/bench_personalise.py real``); filtered states follow the
readings up to the last one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import jax
import jax.numpy as jnp
import numpy as np

from twinlab.bayes._assimilate import assimilate
from twinlab.bayes._glucose import initial_state, with_params
from twinlab.bayes._posterior import Posterior
from twinlab.glucose._record import GlucoseRecord
from twinlab.glucose._uva_padova import UVAPadova

#: The drifts `tune_drift` compares by default, 1/sqrt(minute).
DRIFT_CANDIDATES = (0.0, 0.005, 0.01, 0.02, 0.04, 0.08, 0.15)


@dataclass(frozen=True)
class DriftChoice:
    """The outcome of `tune_drift`.

    Attributes:
        drift_per_sqrt_min: the chosen q, 1/sqrt(minute).
        candidates: (C,) the q compared.
        log_evidence: (C,) each candidate's log density of the stretch's readings, log(1/(mg/dL)) summed over them.
        readings: how many readings scored the candidates.
        posterior: the posterior after the stretch, assimilated with the chosen q.
    """

    drift_per_sqrt_min: float
    candidates: tuple[float, ...]
    log_evidence: tuple[float, ...]
    readings: int
    posterior: Posterior

    def table(self) -> str:
        """The candidates and their mean log evidence per reading, one line each, the choice marked."""
        lines = [f"{'q (1/sqrt(min))':>16} {'log evidence per reading':>26}"]
        for q, ev in zip(self.candidates, self.log_evidence, strict=True):
            mark = " <" if q == self.drift_per_sqrt_min else ""
            lines.append(f"{q:>16g} {ev / max(self.readings, 1):>26.3f}{mark}")
        return "\n".join(lines)


def tune_drift(
    model: UVAPadova,
    post: Posterior,
    new_data: GlucoseRecord,
    *,
    key: jax.Array,
    candidates: tuple[float, ...] = DRIFT_CANDIDATES,
    allow_withheld: bool = False,
) -> DriftChoice:
    """Assimilate ``new_data`` with each candidate model error; keep the one whose filter best predicted its readings.

    Args:
        model: the model of the posterior.
        post: a `Posterior` with end-of-data states (as for `assimilate`).
        new_data: the stretch to score on; its minute 0 is the end of the data ``post`` has seen. Needs readings: a
            few hours (at least 24 readings) separate the candidates.
        key: PRNG key, shared by every candidate (common random numbers, so their evidence differs by q alone).
        candidates: the q to compare, each in [0, 0.2).
        allow_withheld: tune on a posterior the gate withheld anyway.

    Returns:
        A `DriftChoice` holding the chosen q, every candidate's log evidence, and the posterior after ``new_data``
        under the chosen q (use it as the twin's beliefs from here on).
    """
    qs = tuple(float(q) for q in candidates)
    if not qs or len(set(qs)) != len(qs):
        raise ValueError(f"candidates must be distinct drifts, at least one; got {candidates!r}")
    if not isinstance(new_data, GlucoseRecord):
        raise TypeError(f"new_data must be a tl.glucose.GlucoseRecord; got {type(new_data).__name__}")
    if new_data.cgm_minute.size < 24:
        raise ValueError(
            f"new_data holds {new_data.cgm_minute.size} readings; the candidates need at least 24 to be told apart "
            "(two hours of 5-minute CGM, six of 15-minute): pass a longer stretch."
        )
    posts = [
        assimilate(model, post, new_data, key=key, glucose_drift_per_sqrt_min=q, allow_withheld=allow_withheld)
        for q in qs
    ]
    evidence = tuple(float(p.extras["log_evidence"]) for p in posts)
    if not np.all(np.isfinite(evidence)):
        scores = dict(zip(qs, evidence, strict=True))
        raise FloatingPointError(f"the filter's log evidence is not finite for some candidates: {scores}")
    best = int(np.argmax(evidence))
    return DriftChoice(qs[best], qs, evidence, int(posts[best].extras["readings"]), posts[best])


def refilter(
    model: UVAPadova,
    post: Posterior,
    record: GlucoseRecord,
    *,
    key: jax.Array,
    candidates: tuple[float, ...] = DRIFT_CANDIDATES,
    allow_withheld: bool = False,
) -> DriftChoice:
    """Filter ``record``, the data ``post`` was fitted on, from its first minute, choosing the model error on the way.

    Every draw starts from its own initial state (its parameters and initial glucose) and the particle filter runs
    over the whole record once per candidate drift (`tune_drift`). The record's readings then weigh the particles a
    second time (they already shaped the posterior), so the parameters' spread after the pass is narrower than the
    fit's: use the result for the state now and for forecasts, and the fit itself for statements about parameters.

    Args:
        model: the model of the posterior.
        post: a posterior from `personalise` on ``record`` (not one from `assimilate`: its draws no longer hold
            initial states).
        record: the record ``post`` was fitted on.
        key: PRNG key.
        candidates: the drifts to compare, 1/sqrt(minute).
        allow_withheld: refilter a posterior the gate withheld anyway.

    Returns:
        A `DriftChoice` whose posterior holds the filtered states at the end of ``record``.
    """
    post.require_ok(allow_withheld)
    if post.method == "particle-filter":
        raise ValueError("refilter needs the fitted posterior (from personalise); this one was already assimilated.")
    if post.minutes != record.minutes:
        raise ValueError(
            f"the posterior was fitted on {post.minutes} minutes but the record holds {record.minutes}: pass the "
            "record it was fitted on."
        )
    k = len(post.free)
    theta = jnp.asarray(post.flat_theta())
    start = jax.vmap(lambda th: initial_state(model, with_params(post.base, post.free, jnp.exp(th[:k])), th[k]))(theta)
    return tune_drift(model, replace(post, state=start, minutes=0), record, key=key, candidates=candidates,
                      allow_withheld=allow_withheld)  # fmt: skip
