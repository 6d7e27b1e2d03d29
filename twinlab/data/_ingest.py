"""Ingestion: a table and its `Mapping` in, observations and quarantined values out, nothing lost on the way.

Every value cell the mapping reads ends in exactly one place: stored once, quarantined with its reason, or skipped as
declared (an empty cell of a sparse column, a zero in a ``skip_zero`` column), and the report counts each. The
declared rules, in the order applied:

* time: times without an offset are in the mapping's zone and are converted to UTC; a time that cannot be parsed, or
  that does not exist or is ambiguous in that zone (daylight-saving changes), or that lies in the future, is
  quarantined.
* value: text listed in ``text_values`` becomes its number; a sensor error code, other text, a missing value in a
  required column, and NaN or infinity are quarantined.
* unit: converted to the canonical unit; a missing or unknown unit is quarantined.
* limits: a value outside the quantity's possible range is quarantined.
* duplicates: a second value for the same (entity, stream, time), in the same batch or already stored, is quarantined
  as a duplicate (same value) or a conflict (different value); the first one stays.
* order: out-of-order rows are accepted (the store orders by time) and counted; gaps are reported.

Ingesting the same content twice (same file bytes or same table, same mapping) adds nothing: an ingest is identified
by the SHA-256 of its content and mapping.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from twinlab.data._mapping import Column, Mapping
from twinlab.data._store import Store, first
from twinlab.data._units import UnknownUnitError, canonical_unit, factor

__all__ = ["IngestReport", "ingest_frame"]

_OFFSET = r"(?:Z|[+-]\d{2}:?\d{2})$"


@dataclass(frozen=True)
class IngestReport:
    """What one ingest did.

    Attributes:
        ingest_id: the ingest's id in the store.
        source: the mapping's source name.
        n_rows: input rows.
        n_values: value cells read (rows x value columns, less the skipped ones).
        n_stored: observations added.
        n_quarantined: values quarantined (``n_values == n_stored + n_quarantined``).
        n_skipped: empty cells of sparse columns and zeros of ``skip_zero`` columns.
        n_out_of_order: stored values whose time precedes the previous value of their entity and stream in the input.
        reasons: quarantine reason (its leading words, before any colon) -> count.
        gaps: (entity_id, stream_id, gap_start_utc, gap_end_utc) where a level stream's spacing exceeds 3 times its
            median spacing.
        already_ingested: True when the same content was ingested before, so nothing was added.
    """

    ingest_id: str
    source: str
    n_rows: int
    n_values: int
    n_stored: int
    n_quarantined: int
    n_skipped: int
    n_out_of_order: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    gaps: list[tuple[str, str, pd.Timestamp, pd.Timestamp]] = field(default_factory=list)
    already_ingested: bool = False


def frame_fingerprint(frame: pd.DataFrame) -> str:
    """SHA-256 of a table's column names and cell values."""
    digest = hashlib.sha256(json.dumps([str(c) for c in frame.columns]).encode())
    digest.update(pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy().tobytes())
    return digest.hexdigest()


def ingest_frame(
    store: Store,
    frame: pd.DataFrame,
    mapping: Mapping,
    *,
    now: Any = None,
    fingerprint: str | None = None,
    rejected: list[tuple[int, dict[str, Any], str]] | None = None,
    row_numbers: np.ndarray | None = None,
) -> IngestReport:
    """Validate ``frame`` by ``mapping`` and add it to ``store``: observations stored, the rest quarantined.

    Args:
        store: the store to add to.
        frame: the source's rows.
        mapping: how its columns become observations.
        now: the present (for the future-timestamp rule); default the current UTC time.
        fingerprint: the content's identity; default the SHA-256 of ``frame`` and ``mapping``.
        rejected: rows a reader already rejected, as ``(row number, raw fields, reason)``; quarantined with the rest.
        row_numbers: (len(frame),) each row's number in the source, recorded with quarantined values; default 0..n-1.

    Returns:
        The `IngestReport`.
    """
    missing = [c for c in mapping.needed_columns() if c not in frame.columns]
    if missing:
        raise ValueError(
            f"source {mapping.source!r} has no column(s) {missing}; its columns: {list(frame.columns)}. Fix: correct "
            f"the mapping's column names."
        )
    rejected = rejected or []
    fingerprint = (
        fingerprint
        or hashlib.sha256((frame_fingerprint(frame) + mapping.fingerprint() + repr(rejected)).encode()).hexdigest()
    )
    previous = first(
        store.con.execute(
            "SELECT ingest_id, n_values, n_stored, n_quarantined FROM ingests WHERE fingerprint = ? AND source = ?",
            [fingerprint, mapping.source],
        ).fetchall()
    )
    if previous is not None:
        return IngestReport(previous[0], mapping.source, len(frame), 0, 0, 0, 0, already_ingested=True)
    ingest_id = f"{fingerprint[:16]}"
    now_utc = pd.Timestamp(now if now is not None else dt.datetime.now(dt.UTC))
    now_utc = now_utc.tz_localize("UTC") if now_utc.tzinfo is None else now_utc.tz_convert("UTC")

    times, time_reason = _parse_times(frame[mapping.time], mapping)
    late = times > now_utc.tz_localize(None) + pd.Timedelta(seconds=mapping.future_tolerance_s)
    time_reason = np.where(
        late & (time_reason == ""),
        f"timestamp in the future: after {now_utc} + {mapping.future_tolerance_s:g} s",
        time_reason,
    )
    entity = frame[mapping.entity].astype(str).to_numpy() if mapping.entity else np.full(len(frame), mapping.entity_id)

    pieces, n_skipped = [], 0
    for name, col in mapping.columns.items():
        piece, skipped = _column_values(frame, name, col, times, time_reason, entity)
        if row_numbers is not None:
            piece["row"] = np.asarray(row_numbers, np.int64)[piece["row"].to_numpy()]
        pieces.append(piece)
        n_skipped += skipped
    long = pd.concat(pieces, ignore_index=True)
    _mark_duplicates(store, long)

    is_good = (long["reason"] == "").to_numpy(bool)
    bad = long[~is_good]
    raw = bad[["entity_id", "time_utc", "stream_id", "raw_value", "raw_unit"]].astype(object)
    raw.columns = ["entity", "time_utc", "stream", "value", "unit"]
    raw["time_utc"] = raw["time_utc"].map(lambda t: None if pd.isna(t) else str(t))
    raw["value"] = raw["value"].map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
    quarantined = pd.DataFrame(
        {
            "ingest_id": ingest_id,
            "source": mapping.source,
            "row_number": np.concatenate(
                [bad["row"].to_numpy(np.int64), np.array([r for r, _, _ in rejected], np.int64)]
            ),
            "raw": (raw.to_json(orient="records", lines=True).splitlines() if len(raw) else [])
            + [json.dumps(r, default=str) for _, r, _ in rejected],
            "reason": [*bad["reason"].tolist(), *(reason for _, _, reason in rejected)],
        }
    )
    n_values, n_stored = len(long) + len(rejected), int(is_good.sum())
    if n_stored + len(quarantined) != n_values:  # an invariant of this function; a failure is a bug in it
        raise RuntimeError(f"ingest accounting error: {n_values} values, {n_stored} stored, {len(quarantined)} kept")
    levels = sorted({c.stream for c in mapping.columns.values() if c.kind == "level"})
    entities = pd.DataFrame({"entity_id": pd.unique(entity).astype(str)})

    out_of_order, gaps = _order_and_gaps(long, is_good, levels)

    def write() -> None:
        con = store.con
        con.register("_tl_entities", entities)
        con.execute(
            "INSERT INTO entities SELECT entity_id, ?, '{}' FROM _tl_entities ON CONFLICT DO NOTHING",
            [mapping.entity_kind],
        )
        con.unregister("_tl_entities")
        for col in mapping.columns.values():
            store.add_stream(col.stream, col.quantity, col.kind)
        columns = ["row", "entity_id", "stream_id", "time_utc", "value", "unit", "reason"]
        con.register("_tl_long", pa.Table.from_pandas(long[columns], preserve_index=False))  # arrow: faster scan
        con.execute(
            "INSERT INTO observations SELECT entity_id, stream_id, time_utc, value, unit, ?, ? FROM _tl_long "
            "WHERE reason = ''",
            [mapping.source, ingest_id],
        )
        con.unregister("_tl_long")
        con.register("_tl_quarantined", quarantined)
        con.execute("INSERT INTO quarantine SELECT * FROM _tl_quarantined")
        con.unregister("_tl_quarantined")
        con.execute(
            "INSERT INTO ingests VALUES (?, ?, ?, ?, ?, ?, ?)",
            [ingest_id, mapping.source, fingerprint, now_utc.tz_localize(None), n_values, n_stored, len(quarantined)],
        )

    store._in_transaction(write)
    reasons = pd.Series([str(r).split(":")[0] for r in quarantined["reason"]], dtype=object).value_counts().to_dict()
    return IngestReport(
        ingest_id=ingest_id,
        source=mapping.source,
        n_rows=len(frame),
        n_values=n_values,
        n_stored=n_stored,
        n_quarantined=len(quarantined),
        n_skipped=n_skipped,
        n_out_of_order=out_of_order,
        reasons={str(k): int(v) for k, v in reasons.items()},
        gaps=gaps,
    )


def _parse_times(raw: pd.Series, mapping: Mapping) -> tuple[pd.Series, np.ndarray]:
    """(naive UTC times, NaT where bad; reason per row, "" where good)."""
    n = len(raw)
    out = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    reason = np.full(n, "", dtype=object)
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        return raw.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]"), reason
    if pd.api.types.is_datetime64_dtype(raw.dtype):
        aware = pd.Series(False, index=raw.index)
        naive_times = raw.astype("datetime64[ns]")
    else:
        text = raw.astype("string").str.strip()
        aware = text.str.contains(_OFFSET, regex=True).fillna(False).astype(bool)
        fmt = mapping.time_format or "ISO8601"
        if aware.any():
            parsed = pd.to_datetime(text[aware], errors="coerce", utc=True, format=fmt)
            out[aware] = parsed.dt.tz_localize(None).astype("datetime64[ns]")
        naive_times = pd.to_datetime(text.where(~aware), errors="coerce", format=fmt).astype("datetime64[ns]")
    unparsed = naive_times.isna() & ~aware & raw.notna().to_numpy()
    local = naive_times[~aware]
    if mapping.timezone != "UTC" and len(local):
        converted = local.dt.tz_localize(mapping.timezone, ambiguous="NaT", nonexistent="NaT")
        nonexistent = converted.isna() & local.notna()
        out[~aware] = converted.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]")
        reason[nonexistent.reindex(raw.index, fill_value=False).to_numpy()] = (
            f"local time does not exist or is ambiguous in {mapping.timezone}"
        )
    else:
        out[~aware] = local
    reason[(unparsed | (out.isna() & (reason == "") & raw.notna().to_numpy())).to_numpy()] = "unparseable time"
    reason[raw.isna().to_numpy()] = "missing time"
    return out, reason


def _column_values(
    frame: pd.DataFrame, name: str, col: Column, times: pd.Series, time_reason: np.ndarray, entity: np.ndarray
) -> tuple[pd.DataFrame, int]:
    raw = frame[name]
    n = len(raw)
    reason = np.full(n, "", dtype=object)
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        value = raw.astype("Float64").to_numpy(np.float64, na_value=np.nan)  # nullable integers too
        empty = np.isnan(value)
    else:
        text = raw.astype("string").str.strip()
        empty = (text.isna() | (text == "")).to_numpy(bool)
        lower = text.str.lower()
        value = pd.to_numeric(text.where(~text.isna(), None), errors="coerce").to_numpy(np.float64)
        ruled = lower.isin(list(col.text_values)).to_numpy(bool)
        value[ruled] = lower[ruled].map(col.text_values).to_numpy(np.float64)
        code = lower.isin(list(col.error_codes)).to_numpy(bool)
        reason[code] = "sensor error code: " + text[code].to_numpy(str).astype(object)
        is_text = np.isnan(value) & ~empty & ~code & ~text.str.lower().isin(["nan", "+nan", "-nan"]).to_numpy(bool)
        reason[is_text] = "not a number: " + text[is_text].to_numpy(str).astype(object)
    skip = empty & (not col.required)
    if col.skip_zero:
        skip |= value == 0.0
    reason[empty & col.required] = "missing value"
    reason[(reason == "") & ~np.isfinite(value)] = "non-finite value"
    if col.unit is not None:
        units = np.full(n, col.unit, dtype=object)
        value = value * factor(col.unit, col.quantity)
    else:
        units = frame[col.unit_column].astype("string").to_numpy(object)
        factors = np.full(n, np.nan)
        for u in pd.unique(units):
            rows = units == u if isinstance(u, str) else pd.isna(units)
            try:
                factors[rows] = factor(u, col.quantity)
            except UnknownUnitError:
                label = "no unit" if not isinstance(u, str) or not u.strip() else f"unknown unit: {u!r}"
                reason[rows & (reason == "")] = f"{label} for {col.quantity}"
        value = value * factors
    lo, hi = col.bounds
    outside = (reason == "") & ((value < lo) | (value > hi))
    reason[outside] = f"physiologically impossible: outside [{lo:g}, {hi:g}] {canonical_unit(col.quantity)}"
    reason = np.where((reason == "") & (time_reason != ""), time_reason, reason)
    keep = ~skip
    piece = pd.DataFrame(
        {
            "row": np.arange(n)[keep],
            "entity_id": entity[keep],
            "stream_id": col.stream,
            "time_utc": times.to_numpy()[keep],
            "value": value[keep],
            "unit": canonical_unit(col.quantity),
            "raw_value": raw.to_numpy()[keep],
            "raw_unit": units[keep],
            "reason": reason[keep],
        }
    )
    return piece, int(skip.sum())


def _mark_duplicates(store: Store, long: pd.DataFrame) -> None:
    """Quarantine second values for the same (entity, stream, time), in the batch or already stored (in place)."""
    ok = (long["reason"] == "").to_numpy(bool)
    codes = pd.DataFrame(
        {
            "e": pd.factorize(long["entity_id"].to_numpy(object))[0],
            "s": pd.factorize(long["stream_id"].to_numpy(object))[0],
            "t": long["time_utc"].to_numpy("datetime64[ns]").astype(np.int64),
        }
    )[ok]  # integer codes: duplicated() on them is much faster than on strings
    dup = codes.duplicated(keep="first").to_numpy(bool)
    if dup.any():
        value = long["value"].to_numpy(np.float64)[ok]
        first_row = codes.groupby(["e", "s", "t"], sort=False).cumcount().to_numpy() == 0
        first = pd.Series(value[first_row], index=pd.MultiIndex.from_frame(codes[first_row]))
        first_value = first.reindex(pd.MultiIndex.from_frame(codes[dup])).to_numpy()
        same = np.isclose(value[dup], first_value, rtol=1e-12, atol=0.0)
        long.loc[codes.index[dup], "reason"] = np.where(
            same, "duplicate: same value as an earlier row", "conflict: another value at the same time in this input"
        )
    if store.count("observations") == 0:
        return
    cand = long.loc[long["reason"] == "", ["entity_id", "stream_id", "time_utc", "value"]].reset_index()
    store.con.register("_tl_candidates", pa.Table.from_pandas(cand, preserve_index=False))
    hits = store.con.execute(
        "SELECT c.index, c.value, o.value AS stored, o.ingest_id FROM _tl_candidates c JOIN observations o "
        "ON c.entity_id = o.entity_id AND c.stream_id = o.stream_id AND c.time_utc = o.time_utc"
    ).df()
    store.con.unregister("_tl_candidates")
    if len(hits):
        same = np.isclose(hits["value"].to_numpy(np.float64), hits["stored"].to_numpy(np.float64), rtol=1e-12, atol=0)
        kind = np.where(same, "duplicate: same value as", "conflict: differs from")
        long.loc[hits["index"].to_numpy(), "reason"] = (
            kind.astype(object) + " the stored observation of ingest " + hits["ingest_id"].to_numpy(str).astype(object)
        )


def _order_and_gaps(long: pd.DataFrame, good: np.ndarray, levels: list[str]) -> tuple[int, list[Any]]:
    """Out-of-order stored values (input order) and gaps of level streams (> 3 x median spacing)."""
    entity_code, entities = pd.factorize(long["entity_id"].to_numpy(object)[good])
    stream_code, streams = pd.factorize(long["stream_id"].to_numpy(object)[good])
    key = entity_code.astype(np.int64) * max(len(streams), 1) + stream_code
    t = long["time_utc"].to_numpy("datetime64[ns]")[good].astype(np.int64)
    o = np.argsort(key, kind="stable")  # within a key, input order (rows are concatenated column by column)
    same = key[o][1:] == key[o][:-1]
    out_of_order = int(np.sum(same & (t[o][1:] < t[o][:-1])))
    o = np.lexsort((t, key))
    k, ts = key[o], t[o]
    same = k[1:] == k[:-1]
    d = np.diff(ts).astype(np.float64)
    d_same = pd.Series(np.where(same, d, np.nan))
    med = d_same.groupby(k[:-1]).transform("median").to_numpy()
    count = pd.Series(k).groupby(k).transform("size").to_numpy()[:-1]
    is_level = np.isin(np.asarray(streams, dtype=object)[k[:-1] % max(len(streams), 1)], levels)
    hits = np.flatnonzero(same & is_level & (count >= 3) & (d > 3 * med))
    gaps = [
        (str(entities[k[i] // max(len(streams), 1)]), str(streams[k[i] % max(len(streams), 1)]),
         pd.Timestamp(ts[i]), pd.Timestamp(ts[i + 1]))
        for i in hits
    ]  # fmt: skip
    return out_of_order, gaps
