"""twinlab.data: one store for every source a twin is fed by; every reading kept or quarantined with its reason.

* `Store`: the embedded DuckDB database (a file per project, or memory) with versioned schema migrations.
* `Mapping` / `Column`: how one source's columns become observations, declared once per source.
* `ingest_frame`, `ingest_file`, `ingest_fhir`, `append`: ingestion from tables, CSV, Parquet, Excel, JSON lines, FHIR
  R4 and live readings; idempotent.
* units (`to_canonical`, `convert`), alignment onto a twin's grid (`asof`, `glucose_record`) and the real patients
  (`shanghai_record`, `d1namo_record`).
"""

from twinlab.data._ingest import IngestReport, ingest_frame
from twinlab.data._mapping import LIMITS, Column, Mapping
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
    "GLUCOSE_MG_DL_PER_MMOL_L",
    "LIMITS",
    "QUANTITIES",
    "SCHEMA_VERSION",
    "STREAM_KINDS",
    "Column",
    "IngestReport",
    "Mapping",
    "Store",
    "UnknownUnitError",
    "canonical_unit",
    "convert",
    "ingest_frame",
    "to_canonical",
]
