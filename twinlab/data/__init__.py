"""twinlab.data: one store for every source a twin is fed by; every reading kept or quarantined with its reason.

* `Store`: the embedded DuckDB database (a file per project, or memory) with versioned schema migrations.
* `Mapping` / `Column`: how one source's columns become observations, declared once per source.
* `ingest_frame`, `ingest_file`, `ingest_fhir`, `append`: ingestion from tables, CSV, Parquet, Excel, JSON lines, FHIR
  R4 and live readings; idempotent.
* units (`to_canonical`, `convert`), alignment onto a twin's grid (`asof`, `glucose_record`) and the real patients
  (`shanghai_record`, `d1namo_record`, `real_records`).
"""

from twinlab.data._align import (
    INTERMEDIATE_ACTING_HOURS,
    LONG_ACTING_HOURS,
    asof,
    glucose_record,
    intermediate_acting_basal,
    long_acting_basal,
    real_records,
)
from twinlab.data._d1namo import (
    CARB_ENERGY_FRACTION,
    CARB_ENERGY_FRACTION_SD,
    d1namo_ingest,
    d1namo_record,
    d1namo_subjects,
)
from twinlab.data._foods import MealEstimate, estimate_meal, food_table
from twinlab.data._ingest import IngestReport, ingest_frame
from twinlab.data._mapping import LIMITS, Column, Mapping
from twinlab.data._readers import GLUCOSE_LOINC, append, fhir_frame, ingest_fhir, ingest_file, read_table
from twinlab.data._shanghai import shanghai_ingest, shanghai_record, shanghai_visits
from twinlab.data._store import SCHEMA_VERSION, STREAM_KINDS, Store
from twinlab.data._units import (
    GLUCOSE_MG_DL_PER_MMOL_L,
    QUANTITIES,
    UnknownUnitError,
    canonical_unit,
    convert,
    to_canonical,
)

__all__ = [
    "CARB_ENERGY_FRACTION",
    "CARB_ENERGY_FRACTION_SD",
    "GLUCOSE_LOINC",
    "GLUCOSE_MG_DL_PER_MMOL_L",
    "INTERMEDIATE_ACTING_HOURS",
    "LIMITS",
    "LONG_ACTING_HOURS",
    "QUANTITIES",
    "SCHEMA_VERSION",
    "STREAM_KINDS",
    "Column",
    "IngestReport",
    "Mapping",
    "MealEstimate",
    "Store",
    "UnknownUnitError",
    "append",
    "asof",
    "canonical_unit",
    "convert",
    "d1namo_ingest",
    "d1namo_record",
    "d1namo_subjects",
    "estimate_meal",
    "fhir_frame",
    "food_table",
    "glucose_record",
    "ingest_fhir",
    "ingest_file",
    "ingest_frame",
    "intermediate_acting_basal",
    "long_acting_basal",
    "read_table",
    "real_records",
    "shanghai_ingest",
    "shanghai_record",
    "shanghai_visits",
    "to_canonical",
]
