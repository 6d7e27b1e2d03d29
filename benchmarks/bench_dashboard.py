"""The glucose dashboard in a real browser (Debian's Chromium): what-if latency and the stream rate for 30 patients.

Run: ``.venv/bin/python benchmarks/bench_dashboard.py [--moves 20] [--seconds 60]``.

1. latency: one dashboard served by ``twinlab serve``, the stream paused; the bolus slider is moved one step by the
   keyboard and the clock runs until the page shows the redrawn what-if forecast (server forecast + websocket round
   trip + Bokeh redraw). Median and 90th percentile over ``--moves`` moves, after two warm-up moves.
2. stream rate: 30 dashboards (the 30 virtual patients, simulated days) in one served page, each ticking every
   200 ms; readings shown per second in the browser, counted from the status lines over ``--seconds`` seconds.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ONE = """
import twinlab as tl
tl.dash.dashboard(population=False, period_ms=1000).servable()
"""
THIRTY = """
import jax, panel as pn, twinlab as tl
jax.config.update("jax_enable_x64", True)
pn.extension()
boards = [tl.dash.GlucoseDashboard(tl.dash.start_stream(tl.dash.simulated_record(n, 1440, seed=i), seed=i),
                                   period_ms=200, title=n)
          for i, n in enumerate(tl.glucose.patient_names())]
pn.Column(*boards).servable()
"""
STATUS = re.compile(r"^readings: ")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    """An app served by ``twinlab serve`` on 127.0.0.1 for the duration of a ``with`` block."""

    def __init__(self, source: str, folder: Path, name: str) -> None:
        self.app = folder / f"{name}.py"
        self.app.write_text(source)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/{name}"

    def __enter__(self) -> Served:
        cmd = [sys.executable, "-m", "twinlab.cli", "serve", str(self.app), "--port", str(self.port)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("the server did not start")
            time.sleep(0.2)

    def __exit__(self, *exc: Any) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=15)


def _status(pg: Any) -> str:
    return str(pg.get_by_text(STATUS).first.inner_text())


def latency(browser: Any, folder: Path, moves: int) -> list[float]:
    with Served(ONE, folder, "one") as app:
        pg = browser.new_page()
        pg.goto(app.url, timeout=300_000)
        pg.get_by_text(STATUS).first.wait_for(timeout=300_000)
        pg.get_by_role("button", name="live").click()
        handle = pg.locator(".noUi-handle").first
        handle.click()  # focus the bolus handle
        times = []
        for i in range(moves + 2):
            before = _status(pg)
            t0 = time.perf_counter()
            handle.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")
            while _status(pg) == before:
                if time.perf_counter() - t0 > 30:
                    raise RuntimeError("the forecast was not redrawn within 30 s")
                pg.wait_for_timeout(5)
            times.append(time.perf_counter() - t0)
        pg.close()
        return times[2:]


def stream_rate(browser: Any, folder: Path, seconds: float) -> tuple[float, int]:
    with Served(THIRTY, folder, "thirty") as app:
        pg = browser.new_page(viewport={"width": 1400, "height": 900})
        pg.goto(app.url, timeout=600_000)
        status = pg.get_by_text(STATUS)
        deadline = time.monotonic() + 600
        while status.count() < 30:
            if time.monotonic() > deadline:
                raise RuntimeError("30 dashboards did not load within 600 s")
            pg.wait_for_timeout(500)

        def total() -> int:
            return sum(int(re.search(r"readings: (\d+)", t).group(1)) for t in status.all_inner_texts())

        pg.wait_for_timeout(5000)  # past the first ticks' compilation
        n0, t0 = total(), time.perf_counter()
        pg.wait_for_timeout(seconds * 1000)
        n1, t1 = total(), time.perf_counter()
        pg.close()
        return (n1 - n0) / (t1 - t0), n1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--only", choices=["latency", "stream"], help="run one of the two measurements")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    cpu = platform.processor() or platform.machine()
    print(f"machine: {cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox",
                                    "--disable-gpu", "--disable-dev-shm-usage"])  # fmt: skip
        if args.only in (None, "latency"):
            ms = sorted(1000 * t for t in latency(browser, Path(tmp), args.moves))
            print(f"slider move -> redrawn what-if forecast: median {ms[len(ms) // 2]:.0f} ms, "
                  f"90th percentile {ms[int(0.9 * (len(ms) - 1))]:.0f} ms over {len(ms)} moves")  # fmt: skip
        if args.only in (None, "stream"):
            rate, shown = stream_rate(browser, Path(tmp), args.seconds)
            print(f"30 patients: {rate:.1f} readings/s shown in the browser over {args.seconds:.0f} s ({shown} in all)")
        browser.close()


if __name__ == "__main__":
    main()
