"""The explorer's ESM in Chromium, against a stand-in for anywidget's model: sliders send values, curves redraw."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

BUNDLE = Path(__file__).parents[2] / "twinlab" / "ui" / "static" / "explorer.js"

HARNESS = """
async ([src, spec]) => {
  const url = URL.createObjectURL(new Blob([src], { type: "text/javascript" }));
  const widget = (await import(url)).default;
  const state = { spec, values: { Vmx: 0.05 }, title: "adult#001",
                  curve: { minute: [0, 1, 2], bg_mg_dl: [120, 130, 140] } };
  const handlers = {};
  window.sent = [];
  window.model = {
    get: (k) => state[k],
    set: (k, v) => { state[k] = v; },
    save_changes: () => window.sent.push({ ...state.values }),
    on: (e, f) => { handlers[e] = f; },
    off: (e) => { delete handlers[e]; },
    push: (k, v) => { state[k] = v; handlers["change:" + k](); },
  };
  const root = document.createElement("div");
  document.body.append(root);
  widget.render({ model: window.model, el: root });
}
"""


@pytest.mark.skipif(not BUNDLE.is_file(), reason="the widget bundle is not built (scripts/test.sh builds it)")
def test_the_explorer_sends_slider_values_and_redraws_curves(page: tuple[Any, Any]) -> None:
    pg, log = page
    pg.set_content("<html><body></body></html>")
    spec = [{"name": "Vmx", "label": "Vmx: gain", "unit": "mg/kg/min per pmol/L", "min": 0.01, "max": 0.1,
             "step": 0.001}]  # fmt: skip
    pg.evaluate(HARNESS, [BUNDLE.read_text(), spec])
    assert pg.get_by_text("Vmx: gain (mg/kg/min per pmol/L)").count() == 1
    before = pg.get_attribute("[data-testid=explorer-curve]", "points")
    assert before and len(before.split()) == 3
    slider = pg.locator("[data-testid=slider-Vmx]")
    slider.focus()
    slider.press("ArrowRight")
    sent = pg.evaluate("window.sent")
    assert len(sent) == 1 and sent[0]["Vmx"] == pytest.approx(0.051)
    assert pg.inner_text("[data-testid=value-Vmx]") == "0.051"
    pg.evaluate("window.model.push('curve', {minute: [0, 1, 2], bg_mg_dl: [120, 110, 90]})")
    assert pg.get_attribute("[data-testid=explorer-curve]", "points") != before
    assert pg.get_attribute("[data-testid=explorer-plot]", "data-last-mg-dl") == "90.000"
    log.assert_clean()


INSPECTOR = """
async ([src, summary]) => {
  const url = URL.createObjectURL(new Blob([src], { type: "text/javascript" }));
  const widget = (await import(url)).default;
  const state = { summary };
  const handlers = {};
  window.model = { get: (k) => state[k], on: (e, f) => { handlers[e] = f; }, off: () => {},
                   push: (k, v) => { state[k] = v; handlers["change:" + k](); } };
  const root = document.createElement("div");
  document.body.append(root);
  widget.render({ model: window.model, el: root });
}
"""


@pytest.mark.skipif(not BUNDLE.is_file(), reason="the widget bundle is not built (scripts/test.sh builds it)")
def test_the_inspector_shows_parameters_with_units_and_the_gate(page: tuple[Any, Any]) -> None:
    pg, log = page
    pg.set_content("<html><body></body></html>")
    summary = {
        "title": "Twin of ana",
        "parts": [{"part": "personalised", "value": "Vmx"}],
        "parameters": [{"name": "Vmx", "meaning": "gain", "unit": "mg/kg/min per pmol/L", "median": 0.0512345,
                        "lo": 0.04, "hi": 0.06}],
        "diagnostics": {"ok": True, "method": "nuts", "failures": [], "divergences": 0,
                        "table": [{"quantity": "Vmx", "rhat": 1.0012, "ess_bulk": 812.0, "ess_tail": 700.0}]},
    }  # fmt: skip
    pg.evaluate(INSPECTOR, [(BUNDLE.parent / "inspector.js").read_text(), summary])
    params = pg.inner_text("[data-testid=parameters]")
    assert "mg/kg/min per pmol/L" in params and "0.05123" in params
    assert pg.inner_text("[data-testid=gate]") == "gate: passed (nuts, 0 divergences)"
    assert "1.001" in pg.inner_text("[data-testid=diagnostics]")
    withheld = {**summary, "diagnostics": {**summary["diagnostics"], "ok": False, "failures": ["R-hat 1.2 > 1.01"]}}
    pg.evaluate("(s) => window.model.push('summary', s)", withheld)
    assert pg.inner_text("[data-testid=gate]") == "gate: WITHHELD (nuts): R-hat 1.2 > 1.01"
    log.assert_clean()


BUILDER = """
async ([src, state]) => {
  const url = URL.createObjectURL(new Blob([src], { type: "text/javascript" }));
  const widget = (await import(url)).default;
  const handlers = {};
  window.sent = [];
  window.model = { get: (k) => state[k], set: (k, v) => { state[k] = v; }, save_changes: () => {},
                   send: (m) => window.sent.push(m), on: (e, f) => { handlers[e] = f; }, off: () => {},
                   push: (k, v) => { state[k] = v; handlers["change:" + k](); }, state };
  const root = document.createElement("div");
  document.body.append(root);
  widget.render({ model: window.model, el: root });
}
"""


@pytest.mark.skipif(not BUNDLE.is_file(), reason="the widget bundle is not built (scripts/test.sh builds it)")
def test_the_builder_form_edits_the_choice_and_asks_for_a_build(page: tuple[Any, Any]) -> None:
    pg, log = page
    pg.set_content("<html><body></body></html>")
    state = {
        "templates": {"fixed": ["fixed parameters", ""], "learn": ["learn from the data", ""]},
        "patients": ["adult#001", "adult#002"],
        "form": [{"name": "Vmx", "label": "Vmx: gain", "unit": "mg/kg/min per pmol/L", "min": 0.01, "max": 0.1,
                  "step": 0.001}],
        "defaults": {"Vmx": 0.05},
        "choice": {"template": "fixed", "patient": "adult#001", "minutes": 240, "seed": 0, "values": {},
                   "free": ["Vmx"], "n_particles": 256},
        "code": "", "status": "",
        "graph": {"nodes": [{"id": "data", "part": "data source", "label": "simulated day", "column": 0},
                            {"id": "twin", "part": "twin", "label": "tl.Twin", "column": 1}],
                  "edges": [["data", "twin"]]},
    }  # fmt: skip
    pg.evaluate(BUILDER, [(BUNDLE.parent / "builder.js").read_text(), state])
    assert pg.get_by_text("mg/kg/min per pmol/L [0.0100, 0.100]").count() == 1
    assert (pg.locator("[data-testid=part-data]").text_content() or "").startswith("data source")
    assert pg.locator("[data-testid=edge-data-twin]").count() == 1
    pg.evaluate(
        """window.model.push('graph', {nodes: [{id: 'data', part: 'data source', label: 'x', column: 0},
             {id: 'fit', part: 'personalisation', label: 'particle filter', column: 1}], edges: [['data', 'fit']]})"""
    )
    assert pg.locator("[data-testid=part-twin]").count() == 0 and pg.locator("[data-testid=part-fit]").count() == 1
    pg.select_option("[data-testid=template]", "learn")
    pg.select_option("[data-testid=patient]", "adult#002")
    pg.fill("[data-testid=param-Vmx]", "0.07")
    pg.dispatch_event("[data-testid=param-Vmx]", "change")
    pg.uncheck("[data-testid=learn-Vmx]")
    choice = pg.evaluate("window.model.state.choice")
    assert choice["template"] == "learn" and choice["patient"] == "adult#002"
    assert choice["values"] == {"Vmx": 0.07} and choice["free"] == []
    pg.click("[data-testid=build]")
    assert pg.evaluate("window.sent") == [{"type": "build"}]
    assert pg.is_disabled("[data-testid=insert-cell]"), "nothing to insert before a build"
    pg.evaluate("window.model.push('code', 'twin = ...')")
    assert pg.inner_text("[data-testid=code]") == "twin = ..."
    pg.click("[data-testid=insert-cell]")  # no JupyterLab on this page: the widget says to copy the code
    assert "copy the code below" in pg.inner_text("[data-testid=insert-note]")
    pg.evaluate(
        """() => document.addEventListener("twinlab:insert-cell", (e) => {
             window.inserted = e.detail.code; e.preventDefault(); })"""
    )
    pg.click("[data-testid=insert-cell]")
    assert pg.evaluate("window.inserted") == "twin = ..."
    assert pg.inner_text("[data-testid=insert-note]") == "inserted below"
    log.assert_clean()
