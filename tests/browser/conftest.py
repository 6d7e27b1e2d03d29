"""Browser tests: Debian's Chromium driven by Playwright through `executable_path` (no browser download).

Every page a person sees is opened here with console errors collected; a test fails on any of them unless it says
otherwise. Under CI=true a missing Chromium or Playwright fails instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI installs it through scripts/test.sh")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A headless Debian Chromium, shared by the session's browser tests."""
    exe = shutil.which("chromium")
    if exe is None:
        _missing("Debian's chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed (pip install -e '.[test]')")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield b
        b.close()


class ConsoleLog:
    """The console errors and uncaught page errors of one page."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def assert_clean(self) -> None:
        """Fail with every error logged, if any."""
        assert not self.errors, "browser console errors:\n" + "\n".join(self.errors)


@pytest.fixture
def page(browser: Any) -> Iterator[tuple[Any, ConsoleLog]]:
    """A fresh page and its console log (errors and uncaught exceptions)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    log = ConsoleLog()
    pg.on("console", lambda m: log.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    pg.on("pageerror", lambda e: log.errors.append(f"pageerror: {e}"))
    yield pg, log
    context.close()


@pytest.fixture(scope="session")
def free_port() -> Callable[[], int]:
    """A function returning a TCP port on 127.0.0.1 that is free now, for a server a test starts."""

    def pick() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])

    return pick


ServeApp = Callable[..., AbstractContextManager[tuple[str, Path]]]


@pytest.fixture(scope="session")
def serve_app(free_port: Callable[[], int]) -> ServeApp:
    """``serve_app(folder, name, source, env=None)``: a context serving the Panel app ``source`` with ``twinlab serve``
    on a free 127.0.0.1 port (in a subprocess, stopped on exit), giving ``(url, server log path)``."""

    @contextmanager
    def serve(folder: Path, name: str, source: str, env: dict[str, str] | None = None) -> Iterator[tuple[str, Path]]:
        app, log_path, port = folder / f"{name}.py", folder / "serve.log", free_port()
        app.write_text(source)
        with log_path.open("w") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "twinlab.cli", "serve", str(app), "--port", str(port)],
                stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "JAX_PLATFORMS": "cpu", **(env or {})},
                cwd=folder,
            )  # fmt: skip
            try:
                deadline = time.monotonic() + 60.0
                while True:
                    if proc.poll() is not None:
                        pytest.fail(f"twinlab serve exited with {proc.returncode}:\n{log_path.read_text()}")
                    with socket.socket() as s:
                        if s.connect_ex(("127.0.0.1", port)) == 0:
                            break
                    if time.monotonic() > deadline:
                        pytest.fail(f"twinlab serve did not listen within 60 s:\n{log_path.read_text()}")
                    time.sleep(0.2)
                yield f"http://127.0.0.1:{port}/{name}", log_path
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=15)

    return serve


WaitFor = Callable[..., None]


@pytest.fixture(scope="session")
def wait_for() -> WaitFor:
    """``wait_for(what, ok, timeout_s, pg=None)``: poll ``ok()`` every 0.2 s (through the page when given, so its events
    run) and fail naming ``what`` after ``timeout_s`` seconds."""

    def wait(what: str, ok: Callable[[], bool], timeout_s: float, pg: Any | None = None) -> None:
        deadline = time.monotonic() + timeout_s
        while not ok():
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}")
            if pg is not None:
                pg.wait_for_timeout(200)
            else:
                time.sleep(0.2)

    return wait
