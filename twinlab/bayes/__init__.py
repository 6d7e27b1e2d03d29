"""twinlab.bayes: from a population prior to one person's posterior, kept current as data arrive (NumPyro).

Example:
    >>> import jax, twinlab as tl                                           # doctest: +SKIP
    >>> post = tl.bayes.personalise(model, record, free=["kp2", "Vmx", "kabs"], key=jax.random.key(0))
    >>> post.ok, post.diagnostics                                         # the gate and its numbers
"""

from twinlab.bayes._assimilate import assimilate
from twinlab.bayes._diagnostics import Diagnostics, diagnose, ebfmi, ess_bulk, ess_tail, rhat
from twinlab.bayes._drift import DRIFT_CANDIDATES, DriftChoice, refilter, tune_drift
from twinlab.bayes._forecast import Forecast, WhatIf, end_states, forecast, whatif
from twinlab.bayes._glucose import GlucoseData, GlucoseLikelihood, numpyro_model, record_data, stack_data
from twinlab.bayes._personalise import (
    POOLING_READINGS,
    GroupPosterior,
    personalise,
    personalise_group,
    reference_patient,
    shard_people,
)
from twinlab.bayes._posterior import Posterior, PosteriorWithheldError
from twinlab.bayes._prior import Prior, population_prior
from twinlab.bayes._psis import psis_khat
from twinlab.bayes._scores import crps_ensemble, log_score_mixture

__all__ = [
    "DRIFT_CANDIDATES",
    "POOLING_READINGS",
    "Diagnostics",
    "DriftChoice",
    "Forecast",
    "GlucoseData",
    "GlucoseLikelihood",
    "GroupPosterior",
    "Posterior",
    "PosteriorWithheldError",
    "Prior",
    "WhatIf",
    "assimilate",
    "crps_ensemble",
    "diagnose",
    "ebfmi",
    "end_states",
    "ess_bulk",
    "ess_tail",
    "forecast",
    "log_score_mixture",
    "numpyro_model",
    "personalise",
    "personalise_group",
    "population_prior",
    "psis_khat",
    "record_data",
    "reference_patient",
    "refilter",
    "rhat",
    "shard_people",
    "stack_data",
    "tune_drift",
    "whatif",
]
