"""Readers: files (CSV, Parquet, Excel .xlsx/.xls, JSON lines), FHIR R4 JSON and live readings into the store."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from collections.abc import Mapping as AbstractMapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twinlab.data._ingest import IngestReport, ingest_frame
from twinlab.data._mapping import Column, Mapping
from twinlab.data._store import Store, first

__all__ = ["GLUCOSE_LOINC", "append", "fhir_frame", "ingest_fhir", "ingest_file", "read_table"]

# LOINC codes of glucose observations a health record carries; each goes to its own stream (UCUM units).
GLUCOSE_LOINC: dict[str, str] = {
    "2339-0": "Glucose [Mass/volume] in Blood",
    "2345-7": "Glucose [Mass/volume] in Serum or Plasma",
    "15074-8": "Glucose [Moles/volume] in Blood",
    "14743-9": "Glucose [Moles/volume] in Capillary blood by Glucometer",
    "41653-7": "Glucose [Mass/volume] in Capillary blood by Glucometer",
}
_LOINC = "http://loinc.org"


def read_table(path: str | os.PathLike[str], *, sheet: str | int = 0) -> pd.DataFrame:
    """Read a CSV (cells as text, so that nothing is guessed), Parquet, Excel (.xlsx, .xls) or JSON-lines file."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".csv":
        return pd.read_csv(p, dtype=str, keep_default_na=False, na_values=[""])
    if suffix == ".parquet":
        return pd.read_parquet(p)
    if suffix == ".xlsx":
        return pd.read_excel(p, sheet_name=sheet, engine="openpyxl")
    if suffix == ".xls":
        return _read_xls(p, sheet)
    if suffix in (".jsonl", ".ndjson"):
        return pd.read_json(p, lines=True, dtype=False)
    raise ValueError(
        f"cannot read {p.name}: unknown file type {suffix!r}. Supported: .csv, .parquet, .xlsx, .xls, .jsonl/.ndjson, "
        f"and FHIR JSON through ingest_fhir."
    )


def _read_xls(path: Path, sheet: str | int) -> pd.DataFrame:
    """A legacy .xls sheet through xlrd directly (pandas deprecates its xlrd engine); dates become datetimes."""
    import xlrd

    book = xlrd.open_workbook(str(path))
    ws = book.sheet_by_index(sheet) if isinstance(sheet, int) else book.sheet_by_name(sheet)
    if ws.nrows == 0:
        return pd.DataFrame()

    def cell(c: xlrd.sheet.Cell) -> Any:
        if c.ctype == xlrd.XL_CELL_DATE:
            return xlrd.xldate_as_datetime(c.value, book.datemode)
        if c.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
            return None
        return c.value

    header = [str(c.value) for c in ws.row(0)]
    rows = [[cell(c) for c in ws.row(r)] for r in range(1, ws.nrows)]
    frame = pd.DataFrame(rows, columns=header)
    return frame.infer_objects()


def ingest_file(
    store: Store, path: str | os.PathLike[str], mapping: Mapping, *, now: Any = None, sheet: str | int = 0
) -> IngestReport:
    """Read ``path`` and ingest it by ``mapping``; a file ingested before (same bytes, same mapping) adds nothing."""
    p = Path(path)
    fingerprint = _file_sha256(p, mapping.fingerprint() + str(sheet))
    if store.con.execute(
        "SELECT 1 FROM ingests WHERE fingerprint = ? AND source = ?", [fingerprint, mapping.source]
    ).fetchall():
        row = first(store.con.execute("SELECT ingest_id FROM ingests WHERE fingerprint = ?", [fingerprint]).fetchall())
        return IngestReport(str(row[0]) if row else "", mapping.source, 0, 0, 0, 0, 0, already_ingested=True)
    return ingest_frame(store, read_table(p, sheet=sheet), mapping, now=now, fingerprint=fingerprint)


def _file_sha256(path: Path, salt: str) -> str:
    digest = hashlib.sha256(salt.encode())
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fhir_frame(resource: AbstractMapping[str, Any]) -> tuple[pd.DataFrame, list[tuple[int, dict[str, Any], str]]]:
    """FHIR R4 Observations (one, or a Bundle's entries) as rows: subject, time, LOINC code, value, UCUM unit.

    Returns:
        ``(rows, rejected)``: one row per Observation with a subject, a time, a LOINC code and a valueQuantity, and
        ``(entry number, raw, reason)`` for each entry that lacks one of them or is not an Observation.
    """
    kind = resource.get("resourceType")
    if kind == "Bundle":
        entries = [e.get("resource", {}) for e in resource.get("entry", [])]
    elif kind == "Observation":
        entries = [resource]
    else:
        raise ValueError(f"expected a FHIR R4 Observation or Bundle; got resourceType {kind!r}.")
    rows, rejected = [], []
    for i, obs in enumerate(entries):
        code = next((c.get("code") for c in obs.get("code", {}).get("coding", []) if c.get("system") == _LOINC), None)
        quantity = obs.get("valueQuantity") or {}
        time = (
            obs.get("effectiveDateTime") or obs.get("effectiveInstant") or obs.get("effectivePeriod", {}).get("start")
        )
        subject = obs.get("subject", {}).get("reference")
        status = obs.get("status")
        problem = (
            "not an Observation" if obs.get("resourceType") != "Observation"
            else "status entered-in-error" if status == "entered-in-error"
            else "no LOINC code" if code is None
            else "no valueQuantity" if "value" not in quantity
            else "no effective time" if time is None
            else "no subject" if subject is None
            else ""
        )  # fmt: skip
        if problem:
            rejected.append((i, dict(obs), f"FHIR entry rejected: {problem}"))
            continue
        rows.append(
            {
                "row": i,
                "subject": subject,
                "time": time,
                "code": code,
                "value": quantity.get("value"),
                "unit": quantity.get("code") or quantity.get("unit"),
            }
        )
    return pd.DataFrame(rows, columns=["row", "subject", "time", "code", "value", "unit"]), rejected


def ingest_fhir(
    store: Store,
    resource: AbstractMapping[str, Any] | str | os.PathLike[str],
    *,
    source: str,
    streams: AbstractMapping[str, str] | None = None,
    now: Any = None,
) -> IngestReport:
    """Ingest FHIR R4 Observation or Bundle JSON (a dict, or a file path).

    Args:
        store: the store.
        resource: the JSON (parsed) or its file.
        source: the source name to record.
        streams: LOINC code -> stream name; default every code of ``GLUCOSE_LOINC`` to the stream ``"glucose_lab"``.
            An Observation with another code is quarantined as unmapped.
        now: the present, for the future-timestamp rule.
    """
    parsed = resource if isinstance(resource, AbstractMapping) else json.loads(Path(resource).read_text())
    streams = dict(streams or dict.fromkeys(GLUCOSE_LOINC, "glucose_lab"))
    rows, rejected = fhir_frame(parsed)
    mapped = rows["code"].isin(list(streams))
    for r in rows[~mapped].itertuples(index=False):
        rejected.append((int(r.row), r._asdict(), f"unmapped LOINC code: {r.code}"))
    rows = rows[mapped].reset_index(drop=True)
    entry = rows["row"].to_numpy(np.int64)
    frame = pd.DataFrame({"subject": rows["subject"], "time": rows["time"], "unit": rows["unit"]})
    columns = {}
    for stream in sorted(set(streams.values())):
        codes = [c for c, s in streams.items() if s == stream]
        frame[stream] = rows["value"].where(rows["code"].isin(codes)).astype(object)
        columns[stream] = Column(stream, "glucose", unit_column="unit", required=False)
    mapping = Mapping(source, time="time", entity="subject", columns=columns)
    return ingest_frame(store, frame, mapping, now=now, rejected=rejected, row_numbers=entry)


def append(
    store: Store, readings: Iterable[AbstractMapping[str, Any]], *, source: str, column: Column, now: Any = None
) -> IngestReport:
    """Append live readings ``{"entity": ..., "time": ..., "value": ..., "unit": ...}`` to ``column``'s stream.

    The readings go through the same rules as a file; a reading already stored is quarantined as a duplicate, and
    the same batch sent twice adds nothing.
    """
    frame = pd.DataFrame(list(readings), columns=["entity", "time", "value", "unit"])
    col = Column(
        column.stream, column.quantity, column.kind, unit_column="unit", required=column.required,
        skip_zero=column.skip_zero, error_codes=column.error_codes, text_values=column.text_values,
        limits=column.limits,
    )  # fmt: skip
    frame["value"] = frame["value"].astype(object)
    return ingest_frame(store, frame, Mapping(source, "time", {"value": col}, entity="entity"), now=now)
