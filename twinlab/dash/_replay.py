"""The live replay both dashboards share: a periodic callback that advances a stream, switched by a toggle."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import panel as pn


class PeriodicReplay:
    """Mixin for a dashboard with ``stream.done``, ``period_ms`` (ms between ticks) and ``tick()`` (one step).

    ``_start`` adds the periodic callback unless it runs or the stream has ended, ``_stop`` removes it, and
    ``_toggle`` follows a live/pause switch's ``event.new``.
    """

    stream: Any
    period_ms: int
    tick: Callable[[], bool]
    _callback: Any = None

    def _advance(self) -> None:  # Panel's periodic callbacks return nothing
        self.tick()

    def _start(self) -> None:
        if self._callback is None and not self.stream.done:
            self._callback = pn.state.add_periodic_callback(self._advance, period=self.period_ms)

    def _stop(self) -> None:
        if self._callback is not None:
            self._callback.stop()
            self._callback = None

    def _toggle(self, event: Any) -> None:
        if event.new:
            self._start()
        else:
            self._stop()
