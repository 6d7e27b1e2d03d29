"""Codecs for the glucose package's saveable types."""

from __future__ import annotations

from typing import Any

from twinlab.io._registry import register, register_dataclass


def register_glucose_types() -> None:
    """Register PatientParams, Therapy, Schedule and GlucoseRecord (imports twinlab.glucose)."""
    from twinlab.glucose import GlucoseRecord, PatientParams, Schedule, Therapy

    register_dataclass(PatientParams, "glucose.PatientParams")
    register_dataclass(Therapy, "glucose.Therapy")

    def schedule_data(s: Schedule) -> dict[str, Any]:
        basal = None if s._basal is None else [list(p) for p in s._basal]
        return {"meals": [list(p) for p in s._meals], "boluses": [list(p) for p in s._boluses], "basal": basal}

    def schedule_from(d: dict[str, Any], _version: int) -> Schedule:
        return Schedule(meals=d["meals"], boluses=d["boluses"], basal=d["basal"])

    register(Schedule, "glucose.Schedule", to_data=schedule_data, from_data=schedule_from)
    register_dataclass(GlucoseRecord, "glucose.GlucoseRecord")
