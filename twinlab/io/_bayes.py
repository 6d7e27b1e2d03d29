"""Codecs for posteriors and twins (imports twinlab.bayes, and so NumPyro, when called)."""

from __future__ import annotations

from twinlab.io._registry import register_dataclass


def register_bayes_types() -> None:
    """Register the model, simulator states, priors, diagnostics, posteriors and `Twin`."""
    from twinlab.bayes import Diagnostics, Posterior, Prior
    from twinlab.glucose import MealMemory, UVAPadova
    from twinlab.glucose._uva_padova import Held
    from twinlab.sim import SimState
    from twinlab.twin import Twin

    register_dataclass(UVAPadova, "glucose.UVAPadova")
    register_dataclass(MealMemory, "glucose.MealMemory")
    register_dataclass(Held, "glucose.Held")
    register_dataclass(SimState, "sim.SimState")
    register_dataclass(Prior, "bayes.Prior")
    register_dataclass(Diagnostics, "bayes.Diagnostics")
    register_dataclass(Posterior, "bayes.Posterior")
    register_dataclass(Twin, "Twin")
