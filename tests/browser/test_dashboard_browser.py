"""The glucose dashboard in a real browser, served by ``twinlab serve`` on 127.0.0.1 (a free port).

``panel serve`` answers 200 even when the app raised, so every check reads the page's content.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

APP = """
import twinlab as tl
tl.dash.dashboard(population=False, period_ms=400, n_particles=200, horizon_min=90).servable()
"""
#: Bounds on every wait, seconds: the first page builds a twin (compilation included) on 2 shared cores.
LOAD_S = 180.0
CHANGE_S = 60.0


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory, serve_app: Any) -> Iterator[str]:
    """The dashboard served by ``twinlab serve`` in a subprocess, stopped at teardown."""
    folder = tmp_path_factory.mktemp("app")
    with serve_app(folder, "glucose_app", APP, {"JAX_DISABLE_MOST_OPTIMIZATIONS": "1"}) as (address, _log):
        yield address


def _status(pg: Any) -> str:
    return str(pg.get_by_text(re.compile(r"^readings: ")).first.inner_text())


def _number(text: str, label: str) -> float:
    m = re.search(label + r":\s*([0-9.]+)", text)
    assert m, f"no {label!r} in the status line {text!r}"
    return float(m.group(1))


def _open(pg: Any, url: str) -> None:
    pg.goto(url, timeout=LOAD_S * 1000)
    pg.get_by_text(re.compile(r"^readings: ")).first.wait_for(timeout=LOAD_S * 1000)


@pytest.mark.slow
def test_the_dashboard_loads_streams_and_redraws_what_ifs(page: tuple[Any, Any], url: str, wait_for: Any) -> None:
    pg, log = page
    _open(pg, url)
    assert pg.get_by_text("Glucose twin of adult#001").count() == 1  # Bokeh renders in shadow roots: locators pierce
    assert pg.locator("canvas").count() > 0  # Bokeh drew the plot
    # The stream adds points over time.
    first = _number(_status(pg), "readings")
    wait_for("new readings", lambda: _number(_status(pg), "readings") >= first + 6, CHANGE_S, pg)
    # Moving the bolus slider adds a what-if forecast, lower than the plan.
    pg.get_by_role("button", name="live").click()  # pause the stream: the forecast then changes only by the slider
    handle = pg.locator(".noUi-handle").first  # the first slider: the bolus
    handle.click()  # focus the handle (a click on it does not move it)
    for _ in range(8):
        handle.press("ArrowRight")  # steps of 0.5 U
    bolus = pg.get_by_text(re.compile(r"^bolus now \(U\): "))
    wait_for("a bolus of at least 2 U", lambda: _number(bolus.first.inner_text(), r"\(U\)") >= 2.0, CHANGE_S, pg)
    units = _number(bolus.first.inner_text(), r"\(U\)")
    wait_for(f"the what-if forecast of {units:g} U", lambda: f"what-if ({units:g} U now" in _status(pg), CHANGE_S, pg)
    text = _status(pg)
    assert _number(text, r"what-if \([^)]*\)") < _number(text, r"median in \d+ min") - 10.0
    log.assert_clean()
