"""twinlab.dash: live Panel + HoloViews dashboards for twins (needs the ``dashboards`` extra).

Example:
    >>> import twinlab as tl                                                # doctest: +SKIP
    >>> tl.dash.dashboard().servable()                                    # a simulated person, replayed live
    >>> tl.dash.dashboard(tl.data.real_records("d1namo")["d1namo/1"])     # a real record
    >>> tl.dash.traffic_dashboard().servable()                            # Los Angeles road speeds, replayed live
"""

from twinlab.dash._dashboard import SIMULATED_MEALS, dashboard, simulated_record
from twinlab.dash._ensemble import prior_ensemble
from twinlab.dash._glucose import GlucoseDashboard
from twinlab.dash._network_layout import spring_layout
from twinlab.dash._population import POPULATION_COLUMNS, population_metrics
from twinlab.dash._stream import GlucoseStream, WhatIfControls, scaled, start_stream
from twinlab.dash._traffic import TrafficDashboard
from twinlab.dash._traffic_dashboard import quick_traffic_twin, traffic_dashboard
from twinlab.dash._traffic_stream import HORIZONS_MIN, TrafficStream

__all__ = [
    "HORIZONS_MIN",
    "POPULATION_COLUMNS",
    "SIMULATED_MEALS",
    "GlucoseDashboard",
    "GlucoseStream",
    "TrafficDashboard",
    "TrafficStream",
    "WhatIfControls",
    "dashboard",
    "population_metrics",
    "prior_ensemble",
    "quick_traffic_twin",
    "scaled",
    "simulated_record",
    "spring_layout",
    "start_stream",
    "traffic_dashboard",
]
