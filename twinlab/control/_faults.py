"""`SensorFault`: CGM failures injected into a `GlucoseEnv`'s readings, so policies meet them in closed loop.

A fault changes what the sensor reports, never the person's glucose: a dropout reports nothing (NaN), a flat line
repeats the last reading, an offset adds mg/dL to every reading in its window (a compression low is a negative
offset of a few readings; a jump is a positive or negative offset of one). Faults are given in minutes from
midnight of the episode's first day, as meals are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

KINDS = ("dropout", "flat", "offset")


@dataclass(frozen=True)
class SensorFault:
    """One CGM fault over ``[start_min, start_min + duration_min)``.

    Attributes:
        kind: "dropout" (no reading), "flat" (the last reading repeats) or "offset" (``offset_mg_dl`` is added).
        start_min: first faulty minute, counted from midnight of the episode's first day.
        duration_min: length of the fault, minutes (at least 1).
        offset_mg_dl: the error added by an "offset" fault, mg/dL (0 for the other kinds).
    """

    kind: str
    start_min: int
    duration_min: int
    offset_mg_dl: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown sensor fault kind {self.kind!r}. Fix: one of {KINDS}.")
        if int(self.duration_min) < 1 or int(self.start_min) < 0:
            raise ValueError(
                f"a fault needs start_min >= 0 and duration_min >= 1; got {self.start_min}, {self.duration_min}."
            )
        if self.kind == "offset" and self.offset_mg_dl == 0.0:
            raise ValueError("an 'offset' fault with offset_mg_dl=0 changes nothing. Fix: give the error in mg/dL.")
        if self.kind != "offset" and self.offset_mg_dl != 0.0:
            raise ValueError(f"offset_mg_dl applies to 'offset' faults only; a {self.kind!r} fault has none.")

    @classmethod
    def dropout(cls, start_min: int, duration_min: int) -> SensorFault:
        """No readings for ``duration_min`` minutes (a lost signal)."""
        return cls("dropout", start_min, duration_min)

    @classmethod
    def flat(cls, start_min: int, duration_min: int) -> SensorFault:
        """The reading at ``start_min`` repeats for ``duration_min`` minutes (a stuck sensor)."""
        return cls("flat", start_min, duration_min)

    @classmethod
    def compression_low(cls, start_min: int, duration_min: int = 18, drop_mg_dl: float = 70.0) -> SensorFault:
        """Readings ``drop_mg_dl`` too low for ``duration_min`` minutes (lying on the sensor)."""
        return cls("offset", start_min, duration_min, -abs(float(drop_mg_dl)))

    @classmethod
    def jump(cls, start_min: int, size_mg_dl: float, duration_min: int = 3) -> SensorFault:
        """One reading (``duration_min`` = the sample time) off by ``size_mg_dl``."""
        return cls("offset", start_min, duration_min, float(size_mg_dl))


def fault_arrays(faults: Sequence[SensorFault], minutes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-minute masks over ``minutes + 1`` reading times: (missing (bool), flat (bool), offset (mg/dL)).

    Raises:
        ValueError: for a fault that is not a `SensorFault` or starts after the episode ends.
    """
    missing = np.zeros(minutes + 1, bool)
    flat = np.zeros(minutes + 1, bool)
    offset = np.zeros(minutes + 1)
    for i, fault in enumerate(faults):
        if not isinstance(fault, SensorFault):
            raise ValueError(f"faults[{i}] = {fault!r} is not a SensorFault. Fix: SensorFault.dropout(...), etc.")
        if fault.start_min > minutes:
            raise ValueError(
                f"faults[{i}] starts at minute {fault.start_min}, after the episode's {minutes} minutes. Fix: a fault "
                "inside the episode (minutes from midnight of the first day)."
            )
        window = slice(int(fault.start_min), int(fault.start_min) + int(fault.duration_min))
        if fault.kind == "dropout":
            missing[window] = True
        elif fault.kind == "flat":
            flat[window] = True
        else:
            offset[window] += fault.offset_mg_dl
    return missing, flat, offset
