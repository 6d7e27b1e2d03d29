"""The browser harness itself: Chromium starts, renders a page and reports its console errors."""

from __future__ import annotations

from typing import Any

import pytest


def test_chromium_renders_a_page_and_catches_console_errors(page: tuple[Any, Any]) -> None:
    pg, log = page
    pg.set_content("<html><body><p id='x'>twinlab</p><script>console.error('boom')</script></body></html>")
    assert pg.inner_text("#x") == "twinlab"
    assert any("boom" in e for e in log.errors)
    with pytest.raises(AssertionError, match="boom"):
        log.assert_clean()
