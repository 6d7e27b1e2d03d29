"""Browser tests: Debian's Chromium driven by Playwright through `executable_path` (no browser download).

Every page a person sees is opened here with console errors collected; a test fails on any of them unless it says
otherwise. Under CI=true a missing Chromium or Playwright fails instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Callable, Iterator
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
