"""`GlucoseDashboard`: the glucose twin live: readings as they arrive, the forecast, what-ifs, the population."""

from __future__ import annotations

from typing import Any

import holoviews as hv
import holoviews.plotting.bokeh  # registers the Bokeh renderer the plots' options need
import numpy as np
import pandas as pd
import panel as pn

from twinlab.bayes._forecast import Forecast
from twinlab.dash._population import POPULATION_COLUMNS
from twinlab.dash._replay import PeriodicReplay
from twinlab.dash._stream import GlucoseStream, WhatIfControls

#: Central mass of the credible bands drawn.
BAND_MASS = 0.9
_RANGE_MG_DL = (40.0, 400.0)


def _readings_frame(minute: np.ndarray, mg_dl: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"minute": np.asarray(minute, dtype=np.float64), "cgm_mg_dl": np.asarray(mg_dl, np.float64)})


def _forecast_frame(fc: Forecast | None) -> pd.DataFrame:
    """Median and the ``BAND_MASS`` band of a future reading, by minute (empty when there is no forecast)."""
    if fc is None:
        return pd.DataFrame({"minute": [], "median": [], "lo": [], "hi": []}, dtype=np.float64)
    lo, hi = fc.bands(BAND_MASS, readings=True)
    return pd.DataFrame({"minute": fc.minute.astype(np.float64), "median": fc.median(), "lo": lo, "hi": hi})


def _readings_plot(data: pd.DataFrame) -> hv.Scatter:
    return hv.Scatter(data, "minute", "cgm_mg_dl", label="CGM reading").opts(color="black", size=4, backend="bokeh")


def _band(data: pd.DataFrame, label: str, color: str) -> hv.Overlay:
    area = hv.Area(data, "minute", ["lo", "hi"], label=f"{label} {BAND_MASS:.0%} band").opts(
        color=color, alpha=0.25, line_alpha=0.0, backend="bokeh"
    )
    curve = hv.Curve(data, "minute", "median", label=f"{label} median")
    return area * curve.opts(color=color, line_width=2, backend="bokeh")


class GlucoseDashboard(PeriodicReplay, pn.viewable.Viewer):
    """A live dashboard of one glucose twin, with the virtual population beside it.

    Readings are appended as they arrive (`hv.streams.Buffer`, one stretch per tick of a periodic callback); each
    stretch is assimilated and the forecast with its credible band redrawn. The what-if controls (a bolus now, a meal
    ahead, one personalised parameter scaled) redraw a second forecast, paired with the first.

    Args:
        stream: the replay and the twin (`twinlab.dash.start_stream`).
        population: the population table (`twinlab.dash.population_metrics`), or None for no population tab.
        period_ms: milliseconds between ticks (each delivers ``stream.step_min`` minutes of readings).
        title: the heading.
    """

    def __init__(
        self,
        stream: GlucoseStream,
        *,
        population: pd.DataFrame | None = None,
        period_ms: int = 1000,
        title: str = "Glucose twin",
    ) -> None:
        super().__init__()
        if period_ms < 50:
            raise ValueError(f"period_ms must be at least 50 ms; got {period_ms}")
        if stream.horizon_min < 10:
            raise ValueError(f"the forecast horizon must be at least 10 min; got {stream.horizon_min}")
        self.stream = stream
        self.period_ms = int(period_ms)
        self.title = title
        self.population = population
        rec = stream.twin.record
        self.readings = hv.streams.Buffer(_readings_frame(rec.cgm_minute, rec.cgm_mg_dl), length=1_000_000, index=False)
        self.planned = hv.streams.Pipe(data=_forecast_frame(None))
        self.changed = hv.streams.Pipe(data=_forecast_frame(None))
        free = list(stream.twin.posterior.free)
        h = stream.horizon_min
        self.bolus = pn.widgets.FloatSlider(label="bolus now (U)", start=0.0, end=10.0, step=0.5, value=0.0)
        self.meal = pn.widgets.FloatSlider(label="meal (g carbohydrate)", start=0.0, end=120.0, step=5.0, value=0.0)
        self.meal_in = pn.widgets.IntSlider(label="meal in (min)", start=0, end=h - 5, step=5, value=0)
        self.parameter = pn.widgets.Select(label="parameter", options=["(none)", *free], value="(none)")
        self.factor = pn.widgets.FloatSlider(label="parameter x", start=0.5, end=2.0, step=0.05, value=1.0)
        self.live = pn.widgets.Toggle(label="live", value=True, color="primary")
        self.status = pn.pane.Markdown("", css_classes=["twinlab-status"])
        self.forecasts = 0
        self._callback: Any = None
        self._last_planned: Forecast | None = None
        for w in (self.bolus, self.meal, self.meal_in, self.parameter, self.factor):
            w.param.watch(lambda _event: self.redraw(), "value")
        self.live.param.watch(self._toggle, "value")
        self.redraw()

    # -- the core calls ---------------------------------------------------------------------------------------------

    def controls(self) -> WhatIfControls:
        """The what-if the widgets describe, as plain values."""
        p = self.parameter.value
        values = [w.value or 0 for w in (self.bolus, self.meal, self.meal_in, self.factor)]
        return WhatIfControls(
            bolus_u=float(values[0]),
            meal_g=float(values[1]),
            meal_in_min=int(values[2]),
            parameter="" if p == "(none)" else str(p),
            factor=float(values[3]),
        )

    def redraw(self) -> None:
        """Forecast from the twin's latest beliefs under the current what-if, and redraw."""
        planned, changed = self.stream.forecast(self.controls())
        self.forecasts += 1
        if planned is not self._last_planned:  # the plan's forecast changes only with new readings
            self.planned.send(_forecast_frame(planned))
            self._last_planned = planned
        self.changed.send(_forecast_frame(changed))
        self._status(planned, changed)

    def tick(self) -> bool:
        """Deliver the next stretch of readings, assimilate it and redraw; False when the record has ended."""
        if self.stream.done:
            self._stop()
            return False
        minute, mg_dl = self.stream.step()
        if minute.size:
            self.readings.send(_readings_frame(minute, mg_dl))
        self.redraw()
        return True

    def _status(self, planned: Forecast, changed: Forecast | None) -> None:
        n = len(self.readings.data)
        end = planned.median()[-1]
        text = (
            f"readings: **{n}** · minute **{self.stream.twin.minutes}** · forecasts: **{self.forecasts}** · "
            f"median in {self.stream.horizon_min} min: **{end:.1f} mg/dL**"
        )
        if changed is not None:
            c = self.controls()
            scaled = f", {c.parameter} x{c.factor:g}" if c.parameter else ""
            what = f"{c.bolus_u:g} U now, {c.meal_g:g} g in {c.meal_in_min} min{scaled}"
            text += f" · what-if ({what}): **{changed.median()[-1]:.1f} mg/dL**"
        self.status.object = text + f" · {self.stream.gate}"

    # -- the layout -------------------------------------------------------------------------------------------------

    def _live_plot(self) -> hv.DynamicMap:
        points = hv.DynamicMap(_readings_plot, streams=[self.readings])
        planned = hv.DynamicMap(lambda data: _band(data, "forecast", "#1f77b4"), streams=[self.planned])
        changed = hv.DynamicMap(lambda data: _band(data, "what-if", "#ff7f0e"), streams=[self.changed])
        target = hv.HSpan(70, 180).opts(color="green", alpha=0.06, backend="bokeh")
        return (target * points * planned * changed).opts(
            responsive=True, height=420, ylim=_RANGE_MG_DL, xlabel="minute", ylabel="glucose (mg/dL)",
            legend_position="top_left", backend="bokeh",
        )  # fmt: skip

    def _population_view(self) -> pn.viewable.Viewable:
        assert self.population is not None
        table = self.population.rename(columns=POPULATION_COLUMNS).round(1)
        tir = self.population["tir_70_180_percent"]
        frame = pd.DataFrame({"patient": tir.index, "tir": tir.to_numpy(), "ri": self.population["risk_index"]})
        bars_tir = hv.Bars(frame, "patient", ("tir", POPULATION_COLUMNS["tir_70_180_percent"])).opts(
            xrotation=90, height=320, responsive=True, color="#2ca02c", backend="bokeh"
        )
        bars_ri = hv.Bars(frame, "patient", ("ri", POPULATION_COLUMNS["risk_index"])).opts(
            xrotation=90, height=320, responsive=True, color="#d62728", backend="bokeh"
        )
        return pn.Column(pn.pane.HoloViews(bars_tir), pn.pane.HoloViews(bars_ri), pn.pane.DataFrame(table))

    def __panel__(self) -> pn.viewable.Viewable:
        controls = pn.Column(
            "### what if", self.bolus, self.meal, self.meal_in, self.parameter, self.factor, self.live, width=300
        )
        live = pn.Column(pn.Row(controls, pn.pane.HoloViews(self._live_plot(), sizing_mode="stretch_width")),
                         self.status, sizing_mode="stretch_width")  # fmt: skip
        tabs: list[tuple[str, pn.viewable.Viewable]] = [("live twin", live)]
        if self.population is not None:
            tabs.append(("population", self._population_view()))
        if self.live.value:
            self._start()
        return pn.Column(f"## {self.title}", pn.Tabs(*tabs), sizing_mode="stretch_width")
