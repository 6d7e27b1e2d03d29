"""The JupyterLab extension, installed by pip as a user gets it: listed, activated, its launcher cards, its twin
viewer and its dashboard tab, driven in Debian's Chromium against a real JupyterLab server."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

pytest.importorskip("jupyterlab", reason="the lab extra is not installed (pip install -e '.[lab]')")

STARTUP_S = 90.0
UI_TIMEOUT_MS = 60_000


@dataclass
class Lab:
    """A running JupyterLab: its URL, token and root folder."""

    url: str
    token: str
    root: Path

    def get(self, path: str) -> tuple[int, bytes]:
        req = urllib.request.Request(f"{self.url}/{path}", headers={"Authorization": f"token {self.token}"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()


def _run_glucose_template(folder: Path) -> Path:
    """Execute the glucose template (smoke sizes) in ``folder``, as a user would after clicking its card; it saves
    the twin it builds, whose file the viewer test then opens."""
    import nbformat
    from nbclient import NotebookClient

    from twinlab.lab import template_notebook

    nb = nbformat.reads(json.dumps(template_notebook("glucose_patient_twin")), as_version=4)
    env = {"TWINLAB_SMOKE": "1", "MPLBACKEND": "Agg"}
    saved = {k: os.environ.get(k) for k in (*env, "XLA_FLAGS")}
    os.environ.update(env)
    os.environ.pop("XLA_FLAGS", None)  # the kernel gets one CPU device, as a user has
    try:
        NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return folder / "adult_001.twinlab"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, free_port: Callable[[], int]) -> Iterator[Lab]:
    """JupyterLab on 127.0.0.1 (a free port, a random token) with user settings kept in a temporary folder."""
    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    root.mkdir()
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(base / "config"),
        "JUPYTER_DATA_DIR": str(base / "data"),
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(base / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces"),
    }
    env.pop("XLA_FLAGS", None)
    port, token = free_port(), secrets.token_hex(16)
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
           "--ServerApp.port_retries=0"]  # fmt: skip
    if os.geteuid() == 0:  # CI containers run as root
        cmd.append("--allow-root")
    log_path = base / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = Lab(f"http://127.0.0.1:{port}", token, root)
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                if server.get("api/status")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"jupyter lab did not answer in {STARTUP_S} s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        yield server
    finally:
        try:  # a clean shutdown stops the kernels the tests started
            req = urllib.request.Request(f"{server.url}/api/shutdown", method="POST",
                                         headers={"Authorization": f"token {token}"})  # fmt: skip
            urllib.request.urlopen(req, timeout=10).close()
            proc.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def test_labextension_is_installed_prebuilt() -> None:
    jupyter = Path(sys.executable).with_name("jupyter")
    out = subprocess.run([str(jupyter), "labextension", "list"], capture_output=True, text=True, timeout=120)
    listing = re.sub(r"\x1b\[[0-9;]*m", "", out.stdout + out.stderr)
    assert re.search(r"twinlab v\S+ enabled OK \(python, twinlab\)", listing), listing


def test_server_serves_the_templates(lab: Lab) -> None:
    from twinlab.lab import template_notebook, templates

    status, body = lab.get("twinlab/templates")
    assert status == 200
    assert [t["name"] for t in json.loads(body)["templates"]] == [t.name for t in templates()]
    status, body = lab.get("twinlab/templates/glucose_patient_twin")
    assert status == 200 and json.loads(body) == template_notebook("glucose_patient_twin")
    assert lab.get("twinlab/templates/no_such_template")[0] == 404


def _open_lab(pg: Any, lab: Lab, path: str = "") -> list[str]:
    messages: list[str] = []
    pg.on("console", lambda m: messages.append(m.text))
    pg.goto(f"{lab.url}/lab{path}?token={lab.token}", timeout=UI_TIMEOUT_MS)
    pg.wait_for_function("() => window.jupyterapp !== undefined", timeout=UI_TIMEOUT_MS)
    pg.wait_for_function("() => window.jupyterapp.commands.hasCommand('twinlab:new-twin')", timeout=UI_TIMEOUT_MS)
    return messages


def test_launcher_card_creates_the_notebook(lab: Lab, page: tuple[Any, Any]) -> None:
    pg, log = page
    messages = _open_lab(pg, lab)
    assert "twinlab extension activated" in messages
    section = pg.locator(".jp-Launcher-section", has_text="New digital twin")
    section.wait_for(timeout=UI_TIMEOUT_MS)
    cards = section.locator(".jp-LauncherCard")
    assert sorted(cards.all_inner_texts()) == ["Glucose patient twin", "Traffic twin"]
    cards.filter(has_text="Glucose patient twin").click()
    pg.locator(".jp-NotebookPanel .jp-Notebook").first.wait_for(timeout=UI_TIMEOUT_MS)
    pg.locator(".lm-TabBar-tab.lm-mod-current", has_text="glucose_patient_twin.ipynb").wait_for(timeout=UI_TIMEOUT_MS)
    created = lab.root / "glucose_patient_twin.ipynb"
    from twinlab.lab import template_notebook

    expected = [c["source"] for c in template_notebook("glucose_patient_twin")["cells"]]
    saved = json.loads(created.read_text())
    assert ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in saved["cells"]] == [
        "".join(s) if isinstance(s, list) else s for s in expected
    ]
    log.assert_clean()


def test_glucose_template_twin_file_renders_its_parts_and_parameters(lab: Lab, page: tuple[Any, Any]) -> None:
    import twinlab as tl

    pg, log = page
    path = _run_glucose_template(lab.root)
    params = tl.Twin.load(path).posterior.base
    _open_lab(pg, lab, f"/tree/{path.name}")
    viewer = pg.locator(".jp-twinlab-viewer")
    viewer.locator(".jp-twinlab-title").wait_for(timeout=UI_TIMEOUT_MS)
    assert viewer.locator(".jp-twinlab-title").inner_text() == "Twin of adult#001"
    parts = viewer.locator("table.jp-twinlab-parts tr th").all_inner_texts()
    assert parts == ["model", "posterior", "record", "name", "glucose_drift_per_sqrt_min"]
    drift = viewer.locator("table.jp-twinlab-parts tr").filter(has=pg.locator("th", has_text="glucose_drift"))
    assert float(drift.locator("td").inner_text()) == pytest.approx(tl.Twin.load(path).glucose_drift_per_sqrt_min)
    rows = viewer.locator("table.jp-twinlab-params tr")
    vmx = rows.filter(has=pg.locator("th", has_text=re.compile(r"^Vmx$"))).locator("td").inner_text()
    assert float(vmx) == pytest.approx(float(params.Vmx), rel=1e-3)
    bw = rows.filter(has=pg.locator("th", has_text=re.compile(r"^BW$"))).locator("td").inner_text()
    assert float(bw) == pytest.approx(float(params.BW), rel=1e-3)
    assert "Not personalised" in viewer.locator(".jp-twinlab-free").inner_text()
    log.assert_clean()


def test_damaged_twin_file_says_so(lab: Lab, page: tuple[Any, Any]) -> None:
    pg, log = page
    (lab.root / "broken.twinlab").write_bytes(b"\x05\x00\x00\x00\x00\x00\x00\x00{oops")
    _open_lab(pg, lab, "/tree/broken.twinlab")
    error = pg.locator(".jp-twinlab-viewer .jp-twinlab-error")
    error.wait_for(timeout=UI_TIMEOUT_MS)
    assert "its header is not JSON" in error.inner_text()
    log.assert_clean()


def test_dashboard_opens_in_a_tab(lab: Lab, page: tuple[Any, Any]) -> None:
    pytest.importorskip("panel", reason="the dashboards extra is not installed")
    pg, log = page
    (lab.root / "board.py").write_text('import panel as pn\n\npn.pane.Markdown("## glucose board 4217").servable()\n')
    _open_lab(pg, lab)
    pg.evaluate("() => window.jupyterapp.commands.execute('twinlab:open-dashboard', {path: 'board.py'})")
    tab = pg.locator(".lm-TabBar-tab.lm-mod-current", has_text="Dashboard: board.py")
    tab.wait_for(timeout=UI_TIMEOUT_MS)
    frame_el = pg.locator(".jp-twinlab-dashboard iframe")
    assert frame_el.get_attribute("src").endswith("/panel-preview/render/board.py")
    frame = pg.frame_locator(".jp-twinlab-dashboard iframe")
    frame.locator("text=glucose board 4217").wait_for(timeout=120_000)
    log.assert_clean()


def test_widget_code_becomes_a_cell_below_the_widget(lab: Lab, page: tuple[Any, Any]) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("builder"), nbformat.v4.new_code_cell("last")])
    (lab.root / "built.ipynb").write_text(nbformat.writes(nb))
    pg, log = page
    _open_lab(pg, lab, "/tree/built.ipynb")
    pg.locator(".jp-NotebookPanel .jp-Cell").nth(1).wait_for(timeout=UI_TIMEOUT_MS)
    sources = "() => window.jupyterapp.shell.currentWidget.content.model.sharedModel.cells.map(c => c.source)"
    # What the builder's "insert as a cell" does: a cancelable event from inside the first cell.
    taken = pg.evaluate(
        """() => !document.querySelector(".jp-NotebookPanel .jp-Cell").dispatchEvent(new CustomEvent(
             "twinlab:insert-cell", { bubbles: true, cancelable: true, detail: { code: "twin = rebuilt()" } }))"""
    )
    assert taken, "the extension must cancel the event it handled"
    assert pg.evaluate(sources) == ["builder", "twin = rebuilt()", "last"]
    pg.evaluate("() => window.jupyterapp.commands.execute('twinlab:insert-cell', {code: 'x = 2'})")
    assert pg.evaluate(sources) == ["builder", "twin = rebuilt()", "x = 2", "last"]
    outside = pg.evaluate(
        """() => !document.body.dispatchEvent(new CustomEvent(
             "twinlab:insert-cell", { bubbles: true, cancelable: true, detail: { code: "y = 3" } }))"""
    )
    assert not outside, "an event from outside any notebook inserts nothing"
    assert len(pg.evaluate(sources)) == 4
    log.assert_clean()


def test_builder_renders_in_lab_builds_a_twin_and_writes_its_code_cell(lab: Lab, page: tuple[Any, Any]) -> None:
    """The whole path a user takes: run the builder's cell in a real kernel, build, insert the code as a cell."""
    pytest.importorskip("anywidget", reason="the dashboards extra is not installed")
    import nbformat

    source = "import twinlab as tl\n\nbuilder = tl.ui.TwinBuilder()\nbuilder"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (lab.root / "builder.ipynb").write_text(nbformat.writes(nb))
    pg, log = page
    _open_lab(pg, lab, "/tree/builder.ipynb")
    pg.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget?.sessionContext?.session?.kernel?.status === 'idle'",
        timeout=120_000,
    )
    pg.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    out = pg.locator(".jp-NotebookPanel .jp-OutputArea")
    out.locator("[data-testid=build]").wait_for(timeout=180_000)  # the widget's ESM rendered in the output
    assert out.locator("[data-testid=insert-cell]").is_disabled()
    # The parts after the twin, chosen in the form: a policy behind a child's limits, a large meal, a learned part.
    out.locator("[data-testid=policy]").select_option("basal-bolus")
    out.locator("[data-testid=age-group]").select_option("child")
    assert out.locator("[data-testid=limits]").inner_text().startswith("≤ 2 U/h basal, ≤ 5 U bolus")
    out.locator("[data-testid=meal]").fill("150")
    out.locator("[data-testid=meal]").dispatch_event("change")
    out.locator("[data-testid=learned]").select_option("gnn-residual")
    out.locator("[data-testid=learn-steps]").fill("2")
    out.locator("[data-testid=learn-steps]").dispatch_event("change")
    out.locator("[data-testid=part-learned]").wait_for(timeout=30_000)  # the graph redrawn from the Python side
    assert out.locator("[data-testid=part-policy]").count() == 1
    out.locator("[data-testid=build]").click()
    status = out.locator("[data-testid=status]")
    pg.wait_for_function(
        "() => document.querySelector('.jp-OutputArea [data-testid=status]')?.textContent.startsWith('built')",
        timeout=180_000,
    )
    assert "twin of adult#001" in status.inner_text()
    code = out.locator("[data-testid=code]").inner_text()
    assert "tl.Twin.from_params" in code
    assert "tl.control.dose_now(policy" in code and "tl.hybrid.fit(hybrid, start, train, steps=2" in code
    assert "max_bolus" in out.locator("[data-testid=clamps]").inner_text()  # 150 g asks for more than 5 U
    assert out.locator("[data-testid=dose-table] tr").count() == 3
    assert "last 60 min held out" in out.locator("[data-testid=learned-text]").inner_text()
    assert out.locator("[data-testid=learned-table] tr").count() == 2
    out.locator("[data-testid=insert-cell]").click()
    assert out.locator("[data-testid=insert-note]").inner_text() == "inserted below"
    sources = pg.evaluate(
        "() => window.jupyterapp.shell.currentWidget.content.model.sharedModel.cells.map(c => c.source)"
    )
    assert len(sources) == 2 and sources[0] == source, sources
    assert sources[1].strip() == code.strip(), "the new cell holds exactly the code the builder ran"
    print(f"inserted cell:\n{sources[1]}")
    log.assert_clean()
