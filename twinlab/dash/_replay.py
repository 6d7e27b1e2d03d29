"""The live replay both dashboards share: a periodic callback that advances a stream, switched by a toggle."""

from __future__ import annotations

from typing import Any

import panel as pn


class PeriodicReplay:
    """Mixin for a dashboard with ``stream.done``, ``period_ms`` (ms between ticks) and ``_periodic()`` (one tick).

    ``_start`` adds the periodic callback unless it runs or the stream has ended, ``_stop`` removes it, and
    ``_toggle`` follows a live/pause switch's ``event.new``.
    """

    stream: Any
    period_ms: int
    _callback: Any = None

    def _periodic(self) -> Any:
        raise NotImplementedError

    def _start(self) -> None:
        if self._callback is None and not self.stream.done:
            self._callback = pn.state.add_periodic_callback(self._periodic, period=self.period_ms)

    def _stop(self) -> None:
        if self._callback is not None:
            self._callback.stop()
            self._callback = None

    def _toggle(self, event: Any) -> None:
        if event.new:
            self._start()
        else:
            self._stop()
