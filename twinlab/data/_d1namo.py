"""D1NAMO (as processed by GlucoBench): 9 people with type 1 diabetes, from the CSV to the store and to records.

Data set: Dubosson et al., "The open D1NAMO dataset", Informatics in Medicine Unlocked 13 (2018),
doi:10.5281/zenodo.1421615, as processed by GlucoBench (Sergazinov et al., ICLR 2024; Creative Commons 4.0 per its
README). Read through `twinlab.datasets.fetch` (SHA-256 checked at every load). The times are taken as local time in
Switzerland (Europe/Zurich), where the data were recorded, and stored in UTC.

What each column becomes (one entity per person, ``d1namo/<id>``): ``gl`` -> ``cgm`` (mg/dL, 5-minute readings);
``fast_insulin`` -> ``bolus`` (U); ``slow_insulin`` -> ``long_acting_insulin`` (U; `glucose_record` turns it into an
equivalent basal rate, ``dose / 24`` U/h until the next injection); ``calories`` -> ``meal_kcal`` (kcal) and, since
the source gives no carbohydrate, an estimate: ``meal_carbs`` = kcal x 0.45 / 4 g and ``meal_carbs_sd`` = kcal x
0.12 / 4 g (carbohydrate taken as 45 % of a meal's energy, the lower end of the usual 45-60 % recommendation for
adults, with an sd of 12 percentage points; 4 kcal per g). Zeros in the event columns mean "no event" and are
skipped. The wearable columns (HR, BR, ...) are not read.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from twinlab import datasets
from twinlab.data._align import glucose_record
from twinlab.data._ingest import IngestReport, ingest_frame
from twinlab.data._mapping import Column, Mapping
from twinlab.data._readers import _file_sha256, read_table
from twinlab.data._store import Store
from twinlab.glucose import GlucoseRecord

__all__ = ["CARB_ENERGY_FRACTION", "CARB_ENERGY_FRACTION_SD", "d1namo_ingest", "d1namo_record", "d1namo_subjects"]

CARB_ENERGY_FRACTION = 0.45
CARB_ENERGY_FRACTION_SD = 0.12
KCAL_PER_G_CARB = 4.0
_FILE = "Dubosson_processed_with_covariates_events.csv"
_PARSER_VERSION = "1"


def d1namo_subjects() -> list[int]:
    """The people's ids (1-9)."""
    return list(range(1, 10))


def _mapping() -> Mapping:
    def event(stream: str, quantity: str, unit: str) -> Column:
        return Column(stream, quantity, "event", unit=unit, skip_zero=True)

    return Mapping(
        source=f"d1namo/{_FILE}",
        time="time",
        entity="entity",
        timezone="Europe/Zurich",
        columns={
            "gl": Column("cgm", "glucose", unit="mg/dL"),
            "fast_insulin": event("bolus", "insulin", "U"),
            "slow_insulin": event("long_acting_insulin", "insulin", "U"),
            "calories": event("meal_kcal", "energy", "kcal"),
            "carbs": event("meal_carbs", "carbohydrate", "g"),
            "carbs_sd": event("meal_carbs_sd", "carbohydrate", "g"),
        },
    )


def d1namo_ingest(store: Store) -> IngestReport:
    """Ingest the GlucoBench D1NAMO file (all nine people) into ``store`` (again: nothing added)."""
    path = datasets.fetch("d1namo", _FILE)
    mapping = _mapping()
    fingerprint = _file_sha256(path, mapping.fingerprint() + _PARSER_VERSION)
    if store.con.execute("SELECT 1 FROM ingests WHERE fingerprint = ?", [fingerprint]).fetchall():
        return IngestReport("", mapping.source, 0, 0, 0, 0, 0, already_ingested=True)
    raw = read_table(path)
    kcal = pd.to_numeric(raw["calories"], errors="coerce").to_numpy(np.float64)
    frame = pd.DataFrame(
        {
            "entity": "d1namo/" + raw["id"].astype(str),
            "time": raw["time"],
            "gl": raw["gl"],
            "fast_insulin": raw["fast_insulin"],
            "slow_insulin": raw["slow_insulin"],
            "calories": raw["calories"],
            "carbs": kcal * CARB_ENERGY_FRACTION / KCAL_PER_G_CARB,
            "carbs_sd": kcal * CARB_ENERGY_FRACTION_SD / KCAL_PER_G_CARB,
        }
    )
    return ingest_frame(store, frame, mapping, fingerprint=fingerprint)


def d1namo_record(subject: int, store: Store | None = None) -> GlucoseRecord:
    """One person's data as a `GlucoseRecord` (ingested into ``store`` first if needed)."""
    if subject not in d1namo_subjects():
        raise KeyError(f"no D1NAMO subject {subject!r}; subjects: 1-9")
    store = store if store is not None else Store()
    d1namo_ingest(store)
    return glucose_record(store, f"d1namo/{subject}", source=f"d1namo/{_FILE}")
