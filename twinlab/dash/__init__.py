"""twinlab.dash: live Panel + HoloViews dashboards for twins (needs the ``dashboards`` extra).

Example:
    >>> import twinlab as tl                                                # doctest: +SKIP
    >>> tl.dash.dashboard().servable()                                    # a simulated person, replayed live
    >>> tl.dash.dashboard(tl.data.real_records("d1namo")["d1namo/1"])     # a real record
"""

from twinlab.dash._dashboard import SIMULATED_MEALS, dashboard, simulated_record
from twinlab.dash._ensemble import prior_ensemble
from twinlab.dash._glucose import GlucoseDashboard
from twinlab.dash._population import POPULATION_COLUMNS, population_metrics
from twinlab.dash._stream import GlucoseStream, WhatIfControls, scaled, start_stream

__all__ = [
    "POPULATION_COLUMNS",
    "SIMULATED_MEALS",
    "GlucoseDashboard",
    "GlucoseStream",
    "WhatIfControls",
    "dashboard",
    "population_metrics",
    "prior_ensemble",
    "scaled",
    "simulated_record",
    "start_stream",
]
