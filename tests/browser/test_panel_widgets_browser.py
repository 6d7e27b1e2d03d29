"""A twinlab widget inside a served Panel app (``tl.ui.to_panel``): the same ESM renders, a slider move on the page
re-simulates in Python and the redrawn curve comes back, with no console errors."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("panel", reason="the dashboards extra is not installed")

APP = """
import panel as pn
import twinlab as tl

explorer = tl.ui.ParameterExplorer("adult#001", ["Vmx"], minutes=600)
pn.Column("# Explorer in Panel", tl.ui.to_panel(explorer)).servable()
"""
LOAD_S = 120.0


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory, serve_app: Any) -> Iterator[str]:
    with serve_app(tmp_path_factory.mktemp("panel_app"), "explorer_app", APP) as (address, _log):
        yield address


def test_the_explorer_in_a_panel_app_resimulates_on_a_slider_move(url: str, page: tuple[Any, Any]) -> None:
    pg, log = page
    pg.goto(url, timeout=int(LOAD_S * 1000))
    plot = pg.locator("[data-testid=explorer-plot]")  # inside the component's shadow root (Playwright pierces it)
    plot.wait_for(timeout=int(LOAD_S * 1000))
    before = plot.get_attribute("data-last-mg-dl")
    assert before is not None and float(before) > 40
    slider = pg.locator("[data-testid=slider-Vmx]")
    slider.focus()
    for _ in range(20):
        slider.press("ArrowRight")  # more insulin-dependent uptake: lower glucose at the end of the day
    deadline = time.monotonic() + 60.0  # the plot sits in nested shadow roots: poll through the locator
    while float(plot.get_attribute("data-last-mg-dl") or "nan") >= float(before) - 1:
        if time.monotonic() > deadline:
            pytest.fail(f"the curve was not redrawn within 60 s (last glucose still {before} mg/dL)")
        pg.wait_for_timeout(200)
    assert float(plot.get_attribute("data-last-mg-dl") or "nan") < float(before) - 1
    log.assert_clean()
