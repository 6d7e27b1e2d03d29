"""The urban traffic twin: road-sensor speeds on a graph, forecasts with intervals, streaming and what-ifs.

Needs the ``gnn`` extra. Data: `load_los_loop` (Los Angeles, 207 sensors, 5-minute steps, one week) through the
checksummed data set registry.
"""

from twinlab.traffic._baselines import coverage, historical_average, last_value, mae_rmse
from twinlab.traffic._data import SpeedData, load_los_loop, nearby_sensors, speed_data
from twinlab.traffic._forecast import INTERVAL_LEVELS, Forecast, TrafficForecaster, fit_forecaster, load_forecaster
from twinlab.traffic._prepare import N_FEATURES, Prepared, Protocol, node_features, prepare
from twinlab.traffic._twin import TrafficTwin

__all__ = [
    "INTERVAL_LEVELS",
    "N_FEATURES",
    "Forecast",
    "Prepared",
    "Protocol",
    "SpeedData",
    "TrafficForecaster",
    "TrafficTwin",
    "coverage",
    "fit_forecaster",
    "historical_average",
    "last_value",
    "load_forecaster",
    "load_los_loop",
    "mae_rmse",
    "nearby_sensors",
    "node_features",
    "prepare",
    "speed_data",
]
