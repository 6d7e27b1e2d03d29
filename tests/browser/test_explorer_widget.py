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
