"""`Mapping` and `Column`: how one source's table becomes observations, declared once per source."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping as AbstractMapping
from dataclasses import asdict, dataclass, field

from twinlab.data._store import STREAM_KINDS
from twinlab.data._units import canonical_unit, factor

__all__ = ["LIMITS", "Column", "Mapping"]

# Physiologically (or physically) possible values per quantity, canonical units: a value outside is quarantined.
LIMITS: dict[str, tuple[float, float]] = {
    "glucose": (10.0, 1500.0),  # mg/dL; CGM sensors report 39-40 to 400-500
    "ketone": (0.0, 30.0),  # mmol/L
    "insulin": (0.0, 100.0),  # U per dose
    "insulin_rate": (0.0, 20.0),  # U/h
    "carbohydrate": (0.0, 500.0),  # g per meal
    "energy": (0.0, 5000.0),  # kcal per meal
    "speed": (0.0, 250.0),  # km/h
    "flow": (0.0, 20000.0),  # vehicles/h per detector
    "heart_rate": (20.0, 250.0),  # /min
}


@dataclass(frozen=True)
class Column:
    """One value column of a source and the stream its values go to.

    Args:
        stream: the stream name in the store (e.g. ``"cgm"``).
        quantity: a key of `twinlab.data.QUANTITIES` (e.g. ``"glucose"``); values are stored in its canonical unit.
        kind: ``"level"`` (a reading), ``"rate"`` (in force until the next) or ``"event"`` (an amount at an instant).
        unit: the unit of every value in the column; or
        unit_column: the name of a column holding each row's unit.
        required: True: an empty cell is quarantined as a missing value. False: the column is sparse (an event column
            where most rows have none) and empty cells are skipped and counted.
        skip_zero: zeros mean "no event" in this column (as in GlucoBench's insulin and calorie columns): skipped and
            counted, never stored.
        error_codes: text values the source writes for sensor errors (e.g. ``"HIGH"``): quarantined as such.
        text_values: declared rules that turn text into a number in the column's unit (e.g. ``{"temporarily
            suspend": 0.0}`` for a pump's basal column); matched without regard to case and surrounding spaces.
        limits: ``(low, high)`` possible values in the canonical unit; default ``LIMITS[quantity]``.
    """

    stream: str
    quantity: str
    kind: str = "level"
    unit: str | None = None
    unit_column: str | None = None
    required: bool = True
    skip_zero: bool = False
    error_codes: tuple[str, ...] = ()
    text_values: AbstractMapping[str, float] = field(default_factory=dict)
    limits: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        canonical_unit(self.quantity)
        if self.kind not in STREAM_KINDS:
            raise ValueError(f"Column {self.stream!r}: kind must be one of {STREAM_KINDS}; got {self.kind!r}.")
        if (self.unit is None) == (self.unit_column is None):
            raise ValueError(
                f"Column {self.stream!r}: give exactly one of unit= (every value's unit) or unit_column= (a column "
                f"with each row's unit); no unitless number enters the store."
            )
        if self.unit is not None:
            factor(self.unit, self.quantity)  # an unknown unit is an error now, not at ingest
        object.__setattr__(self, "text_values", {k.strip().lower(): float(v) for k, v in self.text_values.items()})
        object.__setattr__(self, "error_codes", tuple(c.strip().lower() for c in self.error_codes))

    @property
    def bounds(self) -> tuple[float, float]:
        """The possible values in the canonical unit."""
        return self.limits if self.limits is not None else LIMITS.get(self.quantity, (-float("inf"), float("inf")))


@dataclass(frozen=True)
class Mapping:
    """How the rows of one source become observations.

    Args:
        source: the source's name, recorded with every observation (e.g. ``"shanghai_t1dm/1001_0"``).
        time: the column holding each row's time.
        columns: value column name -> `Column`.
        entity: the column naming each row's entity; or
        entity_id: one entity for every row.
        entity_kind: what the entities are (``"person"``, ``"road"``, ...).
        timezone: the IANA zone of times written without an offset (times with one are converted from it).
        time_format: a ``strptime`` format for text times; default ISO 8601.
        future_tolerance_s: a time more than this after the ingest's ``now`` is quarantined as in the future.

    Example:
        >>> m = Mapping("pump.csv", time="t", entity_id="p1", columns={"bg": Column("cgm", "glucose", unit="mmol/L")})
        >>> m.columns["bg"].bounds
        (10.0, 1500.0)
    """

    source: str
    time: str
    columns: AbstractMapping[str, Column]
    entity: str | None = None
    entity_id: str | None = None
    entity_kind: str = "person"
    timezone: str = "UTC"
    time_format: str | None = None
    future_tolerance_s: float = 300.0

    def __post_init__(self) -> None:
        if (self.entity is None) == (self.entity_id is None):
            raise ValueError("Mapping: give exactly one of entity= (a column naming each row's entity) or entity_id=.")
        if not self.columns:
            raise ValueError("Mapping: columns= must map at least one value column to a Column.")
        streams = [c.stream for c in self.columns.values()]
        if len(set(streams)) != len(streams):
            raise ValueError(f"Mapping: two columns go to the same stream ({streams}); give each its own stream.")

    def needed_columns(self) -> list[str]:
        """Every column of the source the mapping reads."""
        cols = [self.time, *self.columns]
        cols += [c.unit_column for c in self.columns.values() if c.unit_column]
        return cols + ([self.entity] if self.entity else [])

    def fingerprint(self) -> str:
        """SHA-256 of the mapping's declaration (part of an ingest's identity)."""
        spec = asdict(self)
        spec["columns"] = {k: {**asdict(v), "text_values": dict(v.text_values)} for k, v in self.columns.items()}
        return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()
