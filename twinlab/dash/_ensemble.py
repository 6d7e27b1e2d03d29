"""A twin that starts from the population and learns the person from the stream: a prior ensemble of particles.

A live dashboard has no time to run NUTS before its first frame. It starts instead from ``n`` draws of the virtual
population's prior (`tl.bayes.population_prior`) around the record's first hours, and every new stretch of readings
updates the particles with the particle filter of `tl.bayes.assimilate`. The gate's verdict stays visible: when the
particles degenerate the twin is marked withheld, and the dashboard says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import jax
import numpy as np

from twinlab.bayes._diagnostics import Diagnostics
from twinlab.bayes._forecast import end_states
from twinlab.bayes._glucose import SIGMA_PRIOR_MEDIAN_MG_DL
from twinlab.bayes._personalise import reference_patient
from twinlab.bayes._posterior import Posterior
from twinlab.bayes._prior import Prior, population_prior
from twinlab.glucose._params import PatientParams
from twinlab.glucose._record import GlucoseRecord
from twinlab.glucose._uva_padova import UVAPadova
from twinlab.twin import Twin

#: Standard deviation of the initial glucose around the first reading, mg/dL (a reading's error, roughly).
BG0_SD_MG_DL = 10.0


def prior_ensemble(
    model: UVAPadova,
    record: GlucoseRecord,
    free: Sequence[str] = ("kp2", "Vmx", "kabs"),
    *,
    n_particles: int = 256,
    key: jax.Array,
    base: PatientParams | None = None,
    prior: Prior | None = None,
) -> Twin:
    """A twin whose posterior is ``n_particles`` draws of the prior, simulated through ``record`` (no data used yet).

    Args:
        model: `tl.glucose.UVAPadova()`.
        record: the observations the twin starts from (its first reading sets the initial glucose); usually a short
            head of the stream, the rest arriving through `Twin.assimilate`.
        free: parameters drawn from the prior (fields of `tl.glucose.PatientParams`).
        n_particles: draws (the particle filter's particles); at least 200 so that the gate's ESS floor of 100 is
            reachable.
        key: PRNG key.
        base: the fixed parameters (default `tl.bayes.reference_patient()`).
        prior: prior on ``free`` (default `tl.bayes.population_prior(free)`).

    Returns:
        A `tl.Twin` with a "prior" posterior of one chain of ``n_particles`` draws and their states at the record's end.
    """
    if n_particles < 200:
        raise ValueError(f"n_particles must be at least 200 (the gate needs an ESS of 100); got {n_particles}")
    if record.n_readings == 0:
        raise ValueError("the record has no CGM reading to start from; give it at least one reading.")
    prior = population_prior(free) if prior is None else prior
    base = reference_patient() if base is None else base
    record = replace(record, meal_carbs_sd_g=None)  # the ensemble takes meal estimates as they are
    k_par, k_bg = jax.random.split(key)
    z = np.asarray(jax.random.normal(k_par, (n_particles, len(prior.names))))
    bg0 = float(record.cgm_mg_dl[0]) + BG0_SD_MG_DL * np.asarray(jax.random.normal(k_bg, (n_particles,)))
    theta = np.concatenate([prior.loc + prior.scale * z, np.maximum(bg0, 40.0)[:, None]], axis=1)[None]
    post = Posterior(
        method="prior",
        prior=prior,
        base=base,
        theta=theta,
        sigma_mg_dl=np.full((1, n_particles), SIGMA_PRIOR_MEDIAN_MG_DL),
        diagnostics=Diagnostics({}, {}, {}, 0, (), 1, n_particles, "prior"),
        minutes=record.minutes,
    )
    post = replace(post, state=end_states(model, post, record, np.arange(n_particles)))
    return Twin(model, post, record, record.subject)
