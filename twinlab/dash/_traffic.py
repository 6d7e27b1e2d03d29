"""`TrafficDashboard`: the traffic twin live: the sensor network coloured by forecast speed, a what-if beside it."""

from __future__ import annotations

import operator
from collections.abc import Callable
from functools import reduce
from typing import Any

import holoviews as hv
import holoviews.plotting.bokeh  # registers the Bokeh renderer the plots' options need
import numpy as np
import pandas as pd
import panel as pn

from twinlab.dash._map_pick import tapped_sensor
from twinlab.dash._replay import PeriodicReplay
from twinlab.dash._traffic_stream import INTERVAL_LEVEL, TrafficStream

#: Colour range of the maps, mph (the data are capped at 70 mph).
SPEED_RANGE_MPH = (0.0, 70.0)
_NO_ROAD = "(none)"
_TOOLTIPS = [
    ("sensor", "@sensor"),
    ("last reading", "@last_mph{0.0} mph"),
    ("forecast", "@speed_mph{0.0} mph"),
    (f"{INTERVAL_LEVEL:.0%} interval", "@lo_mph{0.0} to @hi_mph{0.0} mph"),
    ("state", "@state"),
]


def _road_label(road: tuple[str, str]) -> str:
    return f"{road[0]} - {road[1]}"


def _segments(stream: TrafficStream, roads: list[tuple[str, str]]) -> pd.DataFrame:
    """Road segments between sensor positions: columns ``x0``, ``y0``, ``x1``, ``y1``."""
    idx = np.asarray([[stream.sensor_index(a), stream.sensor_index(b)] for a, b in roads], dtype=int).reshape(-1, 2)
    p, q = stream.positions[idx[:, 0]], stream.positions[idx[:, 1]]
    return pd.DataFrame({"x0": p[:, 0], "y0": p[:, 1], "x1": q[:, 0], "y1": q[:, 1]})


def _frame(data: dict[str, Any], which: str) -> pd.DataFrame:
    """The sensors' rows with the ``which`` ("plan" or "what_if") forecast as ``speed_mph``, ``lo_mph``, ``hi_mph``."""
    nodes: pd.DataFrame = data["nodes"]
    return nodes.assign(
        speed_mph=nodes[f"{which}_mph"],
        lo_mph=nodes[f"{which}_lo_mph"],
        hi_mph=nodes[f"{which}_hi_mph"],
        state=np.where(nodes["lost"] & (which == "what_if"), "lost", "reporting"),
    )


def _roads(data: dict[str, Any], which: str) -> hv.Segments:
    return hv.Segments(data["roads"], ["x0", "y0", "x1", "y1"]).opts(color="#b0b0b0", line_width=1, backend="bokeh")


def _closed(data: dict[str, Any], which: str) -> hv.Segments:
    return hv.Segments(data["closed"], ["x0", "y0", "x1", "y1"]).opts(
        color="#d62728", line_width=4, line_dash="dashed", backend="bokeh"
    )


def _sensors(data: dict[str, Any], which: str) -> hv.Points:
    """The sensors coloured by forecast speed; hovering one describes it."""
    frame = _frame(data, which)
    vdims = ["speed_mph", "sensor", "last_mph", "lo_mph", "hi_mph", "state"]
    return hv.Points(frame, ["x", "y"], vdims).opts(
        color="speed_mph", cmap="RdYlGn", clim=SPEED_RANGE_MPH, size=13, line_color="#333333", colorbar=True,
        clabel=f"forecast speed in {data['horizon_min']} min (mph)", tools=["hover"], hover_tooltips=_TOOLTIPS,
        backend="bokeh",
    )  # fmt: skip


def _ring(data: dict[str, Any], which: str) -> hv.Points:
    frame = _frame(data, which)
    return hv.Points(frame[frame["sensor"] == data["selected"]], ["x", "y"]).opts(
        size=24, fill_alpha=0.0, line_color="#1f3fbf", line_width=3, backend="bokeh"
    )


def _crosses(data: dict[str, Any], which: str) -> hv.Points:
    frame = _frame(data, which)
    return hv.Points(frame[frame["lost"]], ["x", "y"]).opts(marker="x", size=20, color="black", backend="bokeh")


_Layer = Callable[[dict[str, Any], str], hv.Element]
#: The maps' layers, bottom to top; the what-if map adds the closed roads and crosses on the lost sensors.
_LAYERS: dict[str, tuple[_Layer, ...]] = {
    "plan": (_roads, _sensors, _ring),
    "what_if": (_closed, _roads, _sensors, _ring, _crosses),
}


def _map_opts(layers: Any, title: str) -> Any:
    return layers.opts(title=title, xaxis=None, yaxis=None, height=400, responsive=True, padding=0.08, backend="bokeh")


def _map(data: dict[str, Any], which: str, title: str) -> hv.Overlay:
    """One map: roads, sensors coloured by ``which`` ("plan" or "what_if") forecast, the selection and changes."""
    return _map_opts(hv.Overlay([layer(data, which) for layer in _LAYERS[which]]), title)


def _live_map(network: hv.streams.Pipe, which: str, title: str) -> tuple[hv.DynamicMap, hv.streams.Tap]:
    """One map redrawn from ``network``'s data, and the taps on it (``x``, ``y`` in layout units).

    Each layer is its own DynamicMap: a stream attaches to the layer that is its source, and a DynamicMap drawing the
    whole overlay would offer none.
    """

    def live(layer: _Layer) -> hv.DynamicMap:
        return hv.DynamicMap(lambda data: layer(data, which), streams=[network])

    layers = [live(layer) for layer in _LAYERS[which]]
    taps = hv.streams.Tap(source=layers[_LAYERS[which].index(_sensors)])
    return _map_opts(reduce(operator.mul, layers), title), taps


def _band(data: pd.DataFrame, label: str, color: str) -> hv.Overlay:
    area = hv.Area(data, "hour", ["lo_mph", "hi_mph"], label=f"{label} {INTERVAL_LEVEL:.0%} interval").opts(
        color=color, alpha=0.25, line_alpha=0.0, framewise=True, backend="bokeh"
    )
    curve = hv.Curve(data, "hour", "mean_mph", label=f"{label} mean").opts(color=color, line_width=2, backend="bokeh")
    return area * curve


def _readings_plot(data: pd.DataFrame) -> hv.Curve:
    # framewise: the time axis follows the replay (and the forecast ahead of it) instead of keeping the first range.
    return hv.Curve(data, "hour", "speed_mph", label="readings").opts(
        color="black", line_width=1.5, framewise=True, backend="bokeh"
    )


class TrafficDashboard(PeriodicReplay, pn.viewable.Viewer):
    """A live dashboard of a traffic twin: the network map, a what-if map beside it, and one sensor's forecast.

    Each tick of a periodic callback delivers one step of readings (`TrafficStream.step`), which the twin
    assimilates; the maps and the sensor's plot are redrawn from the new window. Sensors are coloured by their forecast
    speed at the chosen horizon; hovering one shows its id, last reading, forecast and interval, and tapping one on
    either map selects it, as the ``sensor`` widget does (tapping empty space changes nothing). The what-if (sensors
    marked lost, a road closed) is forecast from the same window and drawn on the right map and as a second band.

    Args:
        stream: the replay and the twin (`TrafficStream`).
        period_ms: milliseconds between ticks.
        note: a line about the model (shown under the heading).
        title: the heading.

    Attributes:
        taps: the taps on the forecast map and on the what-if map (`hv.streams.Tap`, ``x`` and ``y`` in the layout's
            units); a tap within `TAP_RADIUS` of a sensor selects the nearest.
    """

    def __init__(
        self, stream: TrafficStream, *, period_ms: int = 1000, note: str = "", title: str = "Traffic twin"
    ) -> None:
        super().__init__()
        if period_ms < 50:
            raise ValueError(f"period_ms must be at least 50 ms; got {period_ms}")
        self.stream = stream
        self.period_ms = int(period_ms)
        self.title = title
        self.note = note
        ids = list(stream.sensor_ids)
        self._roads = {_road_label(r): r for r in stream.roads}
        self._segments = _segments(stream, list(stream.roads))  # the network does not move: drawn once
        self.horizon = pn.widgets.RadioButtonGroup(
            label="horizon", options={f"{h} min": h for h in stream.horizons_min}, value=stream.horizon_min, width=250
        )
        self.sensor = pn.widgets.Select(label="sensor", options=ids, value=ids[0], width=250)
        self.lost = pn.widgets.MultiSelect(label="sensors lost (what-if)", options=ids, value=[], size=8, width=250)
        self.road = pn.widgets.Select(label="road closed (what-if)", options=[_NO_ROAD, *self._roads], value=_NO_ROAD,
                                      width=250)  # fmt: skip
        self.live = pn.widgets.Toggle(label="live", value=True, color="primary")
        self.status = pn.pane.Markdown("", css_classes=["twinlab-status"])
        self.network = hv.streams.Pipe(data=None)
        self.readings = hv.streams.Pipe(data=None)
        self.planned = hv.streams.Pipe(data=None)
        self.changed = hv.streams.Pipe(data=None)
        self.redraws = 0
        self._callback: Any = None
        plan, plan_taps = _live_map(self.network, "plan", "forecast (as is)")
        what_if, what_if_taps = _live_map(self.network, "what_if", "what-if")
        self._live_maps = (plan, what_if)
        self.taps = (plan_taps, what_if_taps)
        for taps in self.taps:
            taps.add_subscriber(self._tapped)
        for w in (self.horizon, self.sensor, self.lost, self.road):
            w.param.watch(lambda _event: self.redraw(), "value")
        self.live.param.watch(self._toggle, "value")
        self.redraw()

    # -- the core calls ---------------------------------------------------------------------------------------------

    def what_if(self) -> tuple[list[str], list[tuple[str, str]]]:
        """``(lost sensors, closed roads)`` as the widgets set them (sensor ids)."""
        road = self.road.value
        return list(self.lost.value or []), ([] if road == _NO_ROAD else [self._roads[str(road)]])

    def redraw(self) -> None:
        """Forecast from the twin's latest window, and under the what-if, and redraw the maps, plot and status."""
        s = self.stream
        lost, closed = self.what_if()
        horizon = int(self.horizon.value or s.horizon_min)
        sensor = str(self.sensor.value)
        nodes = s.network(horizon, lost, closed)
        self.network.send({"nodes": nodes, "roads": self._segments, "closed": _segments(s, closed),
                           "selected": sensor, "horizon_min": horizon})  # fmt: skip
        changed = s.what_if(lost, closed)
        self.readings.send(s.readings(sensor))
        self.planned.send(s.band(sensor, s.forecast()))
        self.changed.send(s.band(sensor, changed))
        self.redraws += 1
        self._status(nodes.iloc[s.sensor_index(sensor)], horizon, changed is not None, len(lost), len(closed))

    def _tapped(self, x: float | None, y: float | None) -> None:
        """A tap on either map at ``(x, y)``: select the sensor there, as choosing it in the ``sensor`` widget does."""
        nodes: pd.DataFrame = self.network.data["nodes"]
        sensor = tapped_sensor(x, y, nodes[["x", "y"]].to_numpy(), nodes["sensor"].tolist())
        if sensor is not None:
            self.sensor.value = sensor

    def _status(self, row: pd.Series, horizon: int, changed: bool, n_lost: int, n_closed: int) -> None:
        text = (
            f"readings: **{self.stream.steps}** · {self.stream.clock()} · sensor **{row['sensor']}**: last "
            f"**{row['last_mph']:.1f} mph** · forecast in {horizon} min: **{row['plan_mph']:.1f} mph** "
            f"({INTERVAL_LEVEL:.0%}: {row['plan_lo_mph']:.1f} to {row['plan_hi_mph']:.1f})"
        )
        if changed:
            text += (
                f" · what-if ({n_lost} lost, {n_closed} closed): **{row['what_if_mph']:.1f} mph** "
                f"({row['what_if_lo_mph']:.1f} to {row['what_if_hi_mph']:.1f})"
            )
        self.status.object = text

    def tick(self) -> bool:
        """Deliver the next step of readings, assimilate it and redraw; False when the data have ended."""
        if self.stream.done:
            self._stop()
            return False
        self.stream.step()
        self.redraw()
        return True

    # -- the layout -------------------------------------------------------------------------------------------------

    def _maps(self) -> pn.Row:
        plan, alt = self._live_maps
        return pn.Row(pn.pane.HoloViews(plan, sizing_mode="stretch_width"),
                      pn.pane.HoloViews(alt, sizing_mode="stretch_width"), sizing_mode="stretch_width")  # fmt: skip

    def _series(self) -> pn.pane.HoloViews:
        points = hv.DynamicMap(_readings_plot, streams=[self.readings])
        planned = hv.DynamicMap(lambda data: _band(data, "forecast", "#1f77b4"), streams=[self.planned])
        changed = hv.DynamicMap(lambda data: _band(data, "what-if", "#ff7f0e"), streams=[self.changed])
        plot = (points * planned * changed).opts(
            responsive=True, height=300, ylim=(0.0, 80.0), xlabel="hours since the data's first midnight",
            ylabel="speed (mph)", legend_position="bottom_left", backend="bokeh",
        )  # fmt: skip
        return pn.pane.HoloViews(plot, sizing_mode="stretch_width")

    def __panel__(self) -> pn.viewable.Viewable:
        controls = pn.Column(
            "### view", self.horizon, self.sensor, "### what if", self.lost, self.road, self.live, width=280
        )
        body = pn.Column(self._maps(), self._series(), self.status, sizing_mode="stretch_width")
        if self.live.value:
            self._start()
        return pn.Column(f"## {self.title}", pn.pane.Markdown(self.note), pn.Row(controls, body),
                         sizing_mode="stretch_width")  # fmt: skip
