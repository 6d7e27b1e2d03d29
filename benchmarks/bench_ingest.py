"""Ingest rate (rows/s) for CSV and Parquet and as-of alignment time for a population: twinlab against plain pandas.

Run: ``.venv/bin/python benchmarks/bench_ingest.py [--rows 200000] [--entities 100] [--repeats 3]``.

Both sides do the same work on the same files in the same run, best of ``--repeats``:

* ingest: read the file; parse the ISO times to UTC; parse the values; convert mmol/L rows to mg/dL; reject
  non-numbers, non-finite and impossible values; reject second values for one (entity, time); sort by entity and time.
  twinlab (``ingest_file``) also writes the observations and the quarantine (with reasons) into DuckDB, which the
  pandas side does not; pandas keeps its result in memory.
* as-of alignment: the latest CGM reading at or before each minute of a day, per person, for the population
  (``twinlab.data.asof``, a DuckDB ASOF join, against ``pandas.merge_asof(..., by=...)`` on sorted frames).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import pandas as pd

from twinlab.data import Column, Mapping, Store, asof, ingest_file

MAPPING = Mapping("bench", "time", {"value": Column("cgm", "glucose", unit_column="unit")}, entity="entity")
FACTORS = {"mg/dL": 1.0, "mmol/L": 18.0156}


def make_rows(n: int, n_entities: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    per = n // n_entities
    entity = np.repeat([f"p{i:04d}" for i in range(n_entities)], per)
    t = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.tile(np.arange(per) * 5, n_entities), "min")
    mg = rng.uniform(40, 400, per * n_entities).round(1)
    unit = np.where(rng.random(mg.size) < 0.1, "mmol/L", "mg/dL")
    value = np.where(unit == "mmol/L", (mg / 18.0156).round(3), mg).astype(str).astype(object)
    bad = rng.random(mg.size) < 0.01
    value[bad] = rng.choice(["HIGH", "nan", "5000"], bad.sum())
    frame = pd.DataFrame({"entity": entity, "time": t.strftime("%Y-%m-%dT%H:%M:%S"), "value": value, "unit": unit})
    dups = frame.sample(frac=0.01, random_state=seed)
    return pd.concat([frame, dups], ignore_index=True).sample(frac=1.0, random_state=seed).reset_index(drop=True)


def pandas_ingest(path: Path) -> pd.DataFrame:
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""]) if path.suffix == ".csv" else (
        pd.read_parquet(path))  # fmt: skip
    t = pd.to_datetime(raw["time"], format="ISO8601", utc=True).dt.tz_localize(None)
    v = pd.to_numeric(raw["value"], errors="coerce") * raw["unit"].map(FACTORS)
    ok = np.isfinite(v) & v.between(10, 1500)
    out = pd.DataFrame({"entity_id": raw["entity"], "time_utc": t, "value": v})[ok]
    out = out[~out.duplicated(["entity_id", "time_utc"], keep="first")]
    return out.sort_values(["entity_id", "time_utc"], kind="stable").reset_index(drop=True)


def best(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--entities", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    rows = make_rows(args.rows, args.entities)
    with tempfile.TemporaryDirectory() as tmp:
        csv, parquet = Path(tmp) / "rows.csv", Path(tmp) / "rows.parquet"
        rows.to_csv(csv, index=False)
        rows.to_parquet(parquet)
        print(f"{len(rows):,} rows, {args.entities} people\n")
        print("| work | twinlab s | pandas s | twinlab rows/s | pandas rows/s | twinlab / pandas time |")
        print("|---|---:|---:|---:|---:|---:|")
        for path in (csv, parquet):
            t_tl, report = best(lambda p=path: ingest_file(Store(), p, MAPPING, now="2030-01-01"), args.repeats)
            t_pd, frame = best(lambda p=path: pandas_ingest(p), args.repeats)
            assert report.n_stored == len(frame), (report.n_stored, len(frame))  # type: ignore[attr-defined]
            print(f"| ingest {path.suffix[1:]} | {t_tl:.3f} | {t_pd:.3f} | {len(rows) / t_tl:,.0f} | "
                  f"{len(rows) / t_pd:,.0f} | {t_tl / t_pd:.2f} |")  # fmt: skip
        store = Store()
        ingest_file(store, parquet, MAPPING, now="2030-01-01")
        people = store.entities()
        day = pd.date_range("2024-01-02", periods=1440, freq="1min")
        obs = store.observations(stream_id="cgm")[["entity_id", "time_utc", "value"]]

        def pandas_asof() -> pd.DataFrame:
            grid = pd.DataFrame({"entity_id": np.repeat(people, len(day)), "time_utc": np.tile(day, len(people))})
            return pd.merge_asof(grid.sort_values("time_utc"), obs.sort_values("time_utc"), on="time_utc",
                                 by="entity_id").sort_values(["entity_id", "time_utc"])  # fmt: skip

        t_tl, aligned = best(lambda: asof(store, people, "cgm", day), args.repeats)
        t_pd, reference = best(pandas_asof, args.repeats)
        np.testing.assert_allclose(aligned["value"].to_numpy(), reference["value"].to_numpy())  # type: ignore[index]
        n = len(people) * len(day)
        print(f"| as-of {len(people)} people x 1,440 min | {t_tl:.3f} | {t_pd:.3f} | {n / t_tl:,.0f} | {n / t_pd:,.0f} "
              f"| {t_tl / t_pd:.2f} |")  # fmt: skip


if __name__ == "__main__":
    main()
