"""The traffic dashboard in a real browser, served by ``twinlab serve`` on 127.0.0.1 (a free port).

The app trains its quick demo model at start-up (12 sensors, 2 epochs). ``panel serve`` answers 200 even when the
app raised, so every check reads the page's content.
"""

from __future__ import annotations

import math
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


#: The sensors' markers on the map titled ``title`` where Bokeh draws them: their ids, their page positions (CSS
#: pixels, from the renderer's own scales and the canvas' place on the page) and the plot frame's page box.
SENSOR_MARKERS_JS = """
(title) => {
  const found = [...window.Bokeh.index.query((v) => v.model.data_source?.data?.sensor !== undefined
                                                   && v.plot_view?.model?.title?.text === title)];
  if (found.length !== 1) return {error: `${found.length} sensor layers on the map titled ${title}`};
  const view = found[0], data = view.model.data_source.data, {x_scale, y_scale} = view.coordinates;
  const canvas = view.plot_view.canvas_view.events_el.getBoundingClientRect(), f = view.plot_view.frame.bbox;
  return {ids: Array.from(data.sensor, String),
          xs: Array.from(data.x, (x) => canvas.left + x_scale.compute(x)),
          ys: Array.from(data.y, (y) => canvas.top + y_scale.compute(y)),
          frame: [canvas.left + f.left, canvas.top + f.top, canvas.left + f.right, canvas.top + f.bottom]};
}
"""


#: Records in ``window.twinlabSensorsShown`` each sensor the status line (the element it is called on) names from now.
RECORD_SENSORS_JS = """
(el) => {
  const root = el.getRootNode(), seen = (window.twinlabSensorsShown = []);
  new MutationObserver(() => {
    const m = /sensor\\s+(\\d+):/.exec(root.textContent);
    if (m) seen.push(m[1]);
  }).observe(root, {subtree: true, childList: true, characterData: true});
}
"""


class Markers:
    """The sensors' markers on one map as the page shows them (`SENSOR_MARKERS_JS`)."""

    def __init__(self, pg: Any, title: str) -> None:
        found = pg.evaluate(SENSOR_MARKERS_JS, title)
        assert "error" not in found, found
        self.ids: list[str] = found["ids"]
        self.points = list(zip(found["xs"], found["ys"], strict=True))
        self.frame: tuple[float, float, float, float] = tuple(found["frame"])
        left, top, right, bottom = self.frame
        assert len(self.ids) == 12 and 0 <= left < right <= 1400 and 0 <= top < bottom <= 900, found  # all on view
        assert all(left < x < right and top < y < bottom for x, y in self.points), found

    def room(self, x: float, y: float, skip: int | None = None) -> float:
        """Pixels from ``(x, y)`` to the nearest marker's centre (leaving out marker ``skip``)."""
        return min(math.hypot(x - px, y - py) for i, (px, py) in enumerate(self.points) if i != skip)

    def lone(self, skip: str) -> tuple[str, float, float]:
        """``(sensor, x, y)``: the marker farthest from any other (a click there hits only it), not ``skip``'s."""
        best = max((i for i, s in enumerate(self.ids) if s != skip), key=lambda i: self.room(*self.points[i], skip=i))
        assert self.room(*self.points[best], skip=best) > 20.0, f"no marker stands clear: {self.points}"
        return self.ids[best], *self.points[best]

    def nearest(self, x: float, y: float) -> str:
        """The sensor whose marker is nearest ``(x, y)``."""
        gaps = [math.hypot(x - px, y - py) for px, py in self.points]
        return self.ids[gaps.index(min(gaps))]

    def empty(self, skip: tuple[str, ...]) -> tuple[float, float]:
        """The point of the frame farthest from every marker (a 20 x 20 grid's) among those whose nearest marker is
        not one of ``skip`` (so a click there that picked the nearest sensor would show)."""
        left, top, right, bottom = self.frame
        grid = [(left + (right - left) * (i + 0.5) / 20, top + (bottom - top) * (j + 0.5) / 20)
                for i in range(20) for j in range(20)]  # fmt: skip
        best = max((p for p in grid if self.nearest(*p) not in skip), key=lambda p: self.room(*p))
        assert self.room(*best) > 40.0, f"no empty space on the map: {self.points}"
        return best


def _forecasts(text: str) -> tuple[str, str]:
    """The plan's and the what-if's ``mean mph (lo to hi)`` at the selected sensor, as written."""
    plan = re.search(r"forecast in \d+ min:\s*([0-9.]+ mph \(90%: [0-9.]+ to [0-9.]+\))", text)
    what_if = re.search(r"what-if \(1 lost, 0 closed\):\s*([0-9.]+ mph \([0-9.]+ to [0-9.]+\))", text)
    assert plan and what_if, f"no forecasts in the status line {text!r}"
    return plan.group(1), what_if.group(1)


@pytest.mark.slow
def test_the_traffic_dashboard_replays_picks_a_tapped_sensor_and_answers_its_loss(
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
    shown = re.search(r"sensor\s+(\d+):", _status(pg))
    assert shown, _status(pg)
    assert "what-if" not in _status(pg)
    # Clicking empty space on the what-if map, then a sensor's marker on the forecast map, selects that sensor (the
    # status line and the sensor widget follow) and no other on the way: the server handles the clicks in order.
    pg.get_by_text(STATUS).first.evaluate(RECORD_SENSORS_JS)
    sensor, x, y = Markers(pg, "forecast (as is)").lone(skip=shown.group(1))
    pg.mouse.click(*Markers(pg, "what-if").empty(skip=(shown.group(1), sensor)))
    pg.mouse.click(x, y)
    wait_for(f"the status line to name the clicked sensor {sensor}", lambda: f"sensor {sensor}:" in _status(pg),
             CHANGE_S, pg)  # fmt: skip
    assert set(pg.evaluate("window.twinlabSensorsShown")) <= {shown.group(1), sensor}
    assert pg.locator("select:not([multiple])").first.input_value() == sensor  # the sensor widget follows
    pg.locator("select[multiple]").first.select_option([sensor])  # mark the selected sensor lost
    wait_for("the what-if forecast", lambda: "what-if (1 lost, 0 closed)" in _status(pg), CHANGE_S, pg)
    plan, what_if = _forecasts(_status(pg))
    assert what_if != plan.replace("90%: ", "")  # losing the sensor's readings moves its forecast
    log.assert_clean()
