"""The traffic dashboard in a real browser, served by ``twinlab serve`` on 127.0.0.1 (a free port).

The app trains its quick demo model at start-up (12 sensors, 2 epochs). ``panel serve`` answers 200 even when the
app raised, so every check reads the page's content.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

APP = """
import twinlab as tl
tl.dash.traffic_dashboard(sensors=12, epochs=2, period_ms=400).servable()
"""
#: Bounds on every wait, seconds: the first page trains the demo model (compilation included) on 2 shared cores.
LOAD_S = 150.0
CHANGE_S = 45.0
STATUS = re.compile(r"^readings: ")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, serve_app: Any, real_data_dir: Path) -> Iterator[tuple[str, Path]]:
    """``(url, server log)``: the dashboard served by ``twinlab serve`` in a subprocess, stopped at teardown."""
    folder = tmp_path_factory.mktemp("app")
    env = {"JAX_DISABLE_MOST_OPTIMIZATIONS": "1", "TWINLAB_DATA_DIR": str(real_data_dir)}
    with serve_app(folder, "traffic_app", APP, env) as served_app:
        yield served_app


@pytest.fixture(scope="module")
def real_data_dir() -> Path:
    """The data folder (module scope: the server needs it before any test runs); a skip or failure without it."""
    folder = Path(os.environ.get("TWINLAB_DATA_DIR", "/nonexistent"))
    if not (folder / "tgcn_los_loop").is_dir():
        if os.environ.get("TWINLAB_REQUIRE_DATA") == "1":
            pytest.fail(f"TWINLAB_REQUIRE_DATA=1 but {folder} holds no tgcn_los_loop/; set TWINLAB_DATA_DIR")
        pytest.skip("the Los Angeles loop data are not available: set TWINLAB_DATA_DIR to a folder holding them")
    return folder


def _status(pg: Any) -> str:
    return str(pg.get_by_text(STATUS).first.inner_text())


def _readings(text: str) -> int:
    m = re.search(r"readings:\s*(\d+)", text)
    assert m, f"no reading count in the status line {text!r}"
    return int(m.group(1))


def _forecasts(text: str) -> tuple[str, str]:
    """The plan's and the what-if's ``mean mph (lo to hi)`` at the selected sensor, as written."""
    plan = re.search(r"forecast in \d+ min:\s*([0-9.]+ mph \(90%: [0-9.]+ to [0-9.]+\))", text)
    what_if = re.search(r"what-if \(1 lost, 0 closed\):\s*([0-9.]+ mph \([0-9.]+ to [0-9.]+\))", text)
    assert plan and what_if, f"no forecasts in the status line {text!r}"
    return plan.group(1), what_if.group(1)


@pytest.mark.slow
def test_the_traffic_dashboard_replays_and_answers_a_lost_sensor(
    page: tuple[Any, Any], served: tuple[str, Path], wait_for: Any
) -> None:
    pg, log = page
    url, server_log = served
    pg.goto(url, timeout=LOAD_S * 1000)
    wait_for("the status line", lambda: pg.get_by_text(STATUS).count() > 0 or "Traceback" in server_log.read_text(),
              LOAD_S, pg)  # fmt: skip
    assert pg.get_by_text(STATUS).count() > 0, f"the app failed; server log:\n{server_log.read_text()}"
    assert (
        pg.get_by_text("Traffic twin of 12 Los Angeles sensors").count() == 1
    )  # Bokeh renders in shadow roots: locators pierce
    assert pg.get_by_text(re.compile("quick demo ensemble")).count() == 1  # the UI says the model is a quick one
    wait_for("the maps and the sensor plot", lambda: pg.locator("canvas").count() >= 3, CHANGE_S, pg)
    # The replay delivers readings over time.
    first = _readings(_status(pg))
    wait_for("new readings", lambda: _readings(_status(pg)) >= first + 3, CHANGE_S, pg)
    pg.get_by_role("button", name="live").click()  # pause: the forecasts then change only by the what-if
    sensor = re.search(r"sensor\s+(\d+):", _status(pg))
    assert sensor, _status(pg)
    assert "what-if" not in _status(pg)
    pg.locator("select[multiple]").first.select_option([sensor.group(1)])  # mark the selected sensor lost
    wait_for("the what-if forecast", lambda: "what-if (1 lost, 0 closed)" in _status(pg), CHANGE_S, pg)
    plan, what_if = _forecasts(_status(pg))
    assert what_if != plan.replace("90%: ", "")  # losing the sensor's readings moves its forecast
    log.assert_clean()
