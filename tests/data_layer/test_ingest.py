import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twinlab.data import Column, Mapping, Store, UnknownUnitError, ingest_frame
from twinlab.data._readers import append, ingest_fhir, ingest_file

NOW = pd.Timestamp("2026-01-01T00:00Z")
CGM = Column("cgm", "glucose", unit_column="unit", error_codes=("HIGH", "LOW", "ERR"))
MAPPING = Mapping("chaos", time="time", entity="entity", columns={"value": CGM})


def _chaos(n: int, seed: int) -> tuple[pd.DataFrame, dict[str, int], pd.DataFrame]:
    """``n`` readings with faults injected: (rows, faults injected per reason, the readings that must be stored)."""
    rng = np.random.default_rng(seed)
    n_base = int(n * 0.9)
    entity = rng.integers(0, 20, n_base)
    minute = np.arange(n_base) * 5  # distinct times: the key (entity, time) is unique in the clean data
    t = pd.Timestamp("2024-03-01") + pd.to_timedelta(minute, "min")
    mg = rng.uniform(40, 400, n_base).round(1)
    base = pd.DataFrame({"entity": [f"p{e}" for e in entity], "time": t.strftime("%Y-%m-%dT%H:%M:%S"),
                         "value": mg.astype(str).astype(object), "unit": "mg/dL"})  # fmt: skip
    mmol = rng.random(n_base) < 0.1  # right, if unusual, unit: converted, stored
    base.loc[mmol, "value"] = (mg[mmol] / 18.0156).astype(str)
    base.loc[mmol, "unit"] = "mmol/L"
    faults = {}
    kinds = ["non-finite value", "unknown unit", "sensor error code", "physiologically impossible",
             "timestamp in the future", "unparseable time", "missing value", "not a number"]  # fmt: skip
    picks = rng.choice(len(kinds) + 1, n_base, p=[0.01] * len(kinds) + [1 - 0.01 * len(kinds)])
    for k, kind in enumerate(kinds):
        rows = picks == k
        faults[kind] = int(rows.sum())
        col, val = {
            "non-finite value": ("value", rng.choice(["nan", "inf", "-inf"], rows.sum())),
            "unknown unit": ("unit", "mg%"),
            "sensor error code": ("value", rng.choice(["HIGH", "LOW", "ERR"], rows.sum())),
            "physiologically impossible": ("value", "5000"),
            "timestamp in the future": ("time", "2031-01-01T00:00:00"),
            "unparseable time": ("time", "31/02/2024 25:61"),
            "missing value": ("value", None),
            "not a number": ("value", "12,5"),
        }[kind]
        base.loc[rows, col] = val
    base["truth_mg_dl"] = np.where(picks == len(kinds), mg, np.nan)  # not read by the mapping
    n_extra = n - n_base
    dup_rows = rng.choice(np.flatnonzero(picks == len(kinds)), n_extra, replace=False)
    dups = base.iloc[dup_rows].copy()
    conflict = rng.random(n_extra) < 0.3
    dups.loc[conflict, "value"] = "250.5"
    dups.loc[conflict, "unit"] = "mg/dL"
    dups.loc[conflict, "truth_mg_dl"] = 250.5
    same = np.isclose(pd.to_numeric(dups["value"]).to_numpy() * np.where(dups["unit"] == "mmol/L", 18.0156, 1.0),
                      pd.to_numeric(base.iloc[dup_rows]["value"]).to_numpy()
                      * np.where(base.iloc[dup_rows]["unit"] == "mmol/L", 18.0156, 1.0), rtol=1e-12)  # fmt: skip
    faults["duplicate"] = int(same.sum())
    faults["conflict"] = int((~same).sum())
    rows = pd.concat([base, dups], ignore_index=True)
    order = rng.permutation(len(rows))  # shuffled: out-of-order times, duplicates before or after their first
    rows = rows.iloc[order].reset_index(drop=True)
    truth = rows[rows["truth_mg_dl"].notna()].drop_duplicates(["entity", "time"], keep="first")
    return rows, faults, truth


@pytest.mark.slow
def test_chaos_replay_loses_and_duplicates_nothing() -> None:
    rows, faults, truth = _chaos(100_000, seed=0)
    store = Store()
    report = ingest_frame(store, rows, MAPPING, now=NOW)
    assert report.n_rows == report.n_values == 100_000
    assert report.n_stored + report.n_quarantined == 100_000
    assert store.count("observations") == report.n_stored == len(truth)
    assert store.count("quarantine") == report.n_quarantined
    q = store.quarantine()
    assert q["row_number"].is_unique  # no row quarantined twice
    assert {k: report.reasons.get(k, 0) for k in faults} == faults
    assert report.n_out_of_order > 0
    stored = store.observations().set_index(["entity_id", "time_utc"])["value"]
    expected = pd.Series(truth["truth_mg_dl"].to_numpy(),
                         index=pd.MultiIndex.from_arrays([truth["entity"], pd.to_datetime(truth["time"])]))  # fmt: skip
    assert stored.index.is_unique
    np.testing.assert_allclose(stored.sort_index().to_numpy(), expected.sort_index().to_numpy(), rtol=1e-9)
    # The same content again adds nothing; a reordered copy adds nothing either (every value a duplicate or a fault).
    assert ingest_frame(store, rows, MAPPING, now=NOW).already_ingested
    again = ingest_frame(store, rows.iloc[::-1].reset_index(drop=True), MAPPING, now=NOW)
    assert again.n_stored == 0 and again.n_quarantined == 100_000
    assert store.count("observations") == len(truth)


def test_small_chaos_accounts_for_every_row() -> None:
    rows, faults, truth = _chaos(2_000, seed=1)
    store = Store()
    report = ingest_frame(store, rows, MAPPING, now=NOW)
    assert report.n_stored == len(truth) and report.n_quarantined == 2_000 - len(truth)
    assert {k: report.reasons.get(k, 0) for k in faults} == faults


_reading = st.tuples(
    st.integers(0, 3), st.integers(0, 50), st.floats(40, 400, allow_nan=False).map(lambda v: round(v, 1))
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_reading, min_size=1, max_size=40), st.randoms(use_true_random=False))
def test_ingest_is_idempotent(readings: list[tuple[int, int, float]], rnd) -> None:
    frame = pd.DataFrame(
        {
            "entity": [f"p{e}" for e, _, _ in readings],
            "time": [(pd.Timestamp("2024-01-01") + pd.Timedelta(minutes=5 * m)).isoformat() for _, m, _ in readings],
            "value": [str(v) for _, _, v in readings],
            "unit": "mg/dL",
        }
    )
    store = Store()
    first = ingest_frame(store, frame, MAPPING, now=NOW)
    snapshot = store.observations()
    assert first.n_stored == len({(e, m) for e, m, _ in readings})
    assert ingest_frame(store, frame, MAPPING, now=NOW).already_ingested
    shuffled = frame.sample(frac=1.0, random_state=rnd.randint(0, 10**6)).reset_index(drop=True)
    again = ingest_frame(store, shuffled, MAPPING, now=NOW)
    if again.already_ingested:  # the shuffle left the content as it was
        assert shuffled.equals(frame)
    else:
        assert again.n_stored == 0 and again.n_quarantined == len(frame)
    pd.testing.assert_frame_equal(store.observations(), snapshot)


def test_time_zones_and_daylight_saving() -> None:
    frame = pd.DataFrame(
        {
            "t": [
                "2024-03-31 01:30",
                "2024-03-31 02:30",
                "2024-10-27 02:30",
                "2024-06-01 12:00",
                "2024-06-01T12:00+00:00",
            ],
            "bg": ["100", "101", "102", "103", "104"],
        }
    )
    mapping = Mapping(
        "tz", "t", {"bg": Column("cgm", "glucose", unit="mg/dL")}, entity_id="p", timezone="Europe/Zurich"
    )
    store = Store()
    report = ingest_frame(store, frame, mapping, now=NOW)
    assert report.n_stored == 3 and report.reasons == {"local time does not exist or is ambiguous in Europe/Zurich": 2}
    assert store.observations()["time_utc"].astype(str).tolist() == [
        "2024-03-31 00:30:00", "2024-06-01 10:00:00", "2024-06-01 12:00:00"
    ]  # fmt: skip


def test_unknown_declared_unit_fails_at_mapping_time() -> None:
    with pytest.raises(UnknownUnitError, match="glucose"):
        Column("cgm", "glucose", unit="mg")
    with pytest.raises(ValueError, match="unitless"):
        Column("cgm", "glucose")


def test_sparse_columns_text_rules_and_gaps() -> None:
    frame = pd.DataFrame(
        {
            "t": [f"2024-01-01 {h:02d}:00" for h in (0, 1, 2, 3, 9, 10)],
            "bg": [100, 110, 120, 130, 140, 150],
            "basal": [None, "0.5", "temporarily suspend", None, "x", None],
        }
    )
    mapping = Mapping("pump", "t", entity_id="p", columns={
        "bg": Column("cgm", "glucose", unit="mg/dL"),
        "basal": Column("basal", "insulin_rate", "rate", unit="U/h", required=False,
                        text_values={"temporarily suspend": 0.0}),
    })  # fmt: skip
    store = Store()
    r = ingest_frame(store, frame, mapping, now=NOW)
    assert (r.n_stored, r.n_quarantined, r.n_skipped) == (8, 1, 3)
    assert store.observations(stream_id="basal")["value"].tolist() == [0.5, 0.0]
    assert [(g[2].hour, g[3].hour) for g in r.gaps] == [(3, 9)]


def test_files_of_every_format_ingest_the_same(tmp_path: Path) -> None:
    frame = pd.DataFrame({"time": ["2024-01-01 00:00", "2024-01-01 00:05"], "gl": [5.5, 6.5]})
    mapping = Mapping("f", "time", {"gl": Column("cgm", "glucose", unit="mmol/L")}, entity_id="p")
    frame.to_csv(tmp_path / "a.csv", index=False)
    frame.to_parquet(tmp_path / "a.parquet")
    frame.to_excel(tmp_path / "a.xlsx", index=False)
    frame.to_json(tmp_path / "a.jsonl", orient="records", lines=True)
    values = []
    for name in ("a.csv", "a.parquet", "a.xlsx", "a.jsonl"):
        store = Store()
        assert ingest_file(store, tmp_path / name, mapping, now=NOW).n_stored == 2
        assert ingest_file(store, tmp_path / name, mapping, now=NOW).already_ingested
        values.append(store.observations()["value"].tolist())
    assert values == [[5.5 * 18.0156, 6.5 * 18.0156]] * 4
    with pytest.raises(ValueError, match="no column"):
        ingest_file(Store(), tmp_path / "a.csv", Mapping("f", "when", {"gl": Column("cgm", "glucose", unit="g/L")},
                                                         entity_id="p"))  # fmt: skip


def _obs(code: str, value: float | None, unit: str, when: str = "2024-03-01T08:00:00+01:00") -> dict:
    o = {"resourceType": "Observation", "status": "final", "subject": {"reference": "Patient/7"},
         "code": {"coding": [{"system": "http://loinc.org", "code": code}]}, "effectiveDateTime": when}  # fmt: skip
    if value is not None:
        o["valueQuantity"] = {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}
    return o


def test_fhir_bundle(tmp_path: Path) -> None:
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in (
        _obs("15074-8", 6.0, "mmol/L"), _obs("2339-0", 150, "mg/dL", "2024-03-01T09:00:00Z"),
        _obs("41653-7", 99, "mg/dL", "2024-03-01T10:00:00Z"), _obs("14743-9", 5.0, "mmol/L", "2024-03-01T11:00:00Z"),
        _obs("8867-4", 70, "/min"), _obs("2339-0", None, "mg/dL"), {"resourceType": "Patient"},
        _obs("2339-0", 3.0, "kg", "2024-03-01T12:00:00Z"))]}  # fmt: skip
    (tmp_path / "b.json").write_text(json.dumps(bundle))
    store = Store()
    r = ingest_fhir(store, tmp_path / "b.json", source="ehr", now=NOW)
    assert (r.n_values, r.n_stored, r.n_quarantined) == (8, 4, 4)
    obs = store.observations()
    assert obs["entity_id"].unique().tolist() == ["Patient/7"]
    np.testing.assert_allclose(obs["value"], [6.0 * 18.0156, 150, 99, 5.0 * 18.0156])
    assert str(obs["time_utc"].iloc[0]) == "2024-03-01 07:00:00"
    assert sorted(r.reasons) == ["FHIR entry rejected", "unknown unit", "unmapped LOINC code"]
    q = store.quarantine().set_index("row_number")["reason"]  # row numbers are the bundle's entry numbers
    assert q[7].startswith("unknown unit") and q[4].startswith("unmapped") and q[6].startswith("FHIR entry")


def test_live_append_and_store_file_reopens(tmp_path: Path) -> None:
    path = tmp_path / "project.duckdb"
    col = Column("cgm", "glucose", unit="mg/dL", error_codes=("LO",))
    with Store(path) as store:
        batch = [{"entity": "p", "time": f"2024-01-01T00:0{i}Z", "value": v, "unit": "mg/dL"}
                 for i, v in enumerate([100, "LO", 102])]  # fmt: skip
        assert append(store, batch, source="live", column=col, now=NOW).n_stored == 2
        assert append(store, batch, source="live", column=col, now=NOW).already_ingested
        assert append(store, [{**batch[2], "value": 103}], source="live", column=col, now=NOW).reasons == {
            "conflict": 1
        }
    with Store(path) as store:
        assert store.schema_version == 2 and store.count("observations") == 2 and store.count("quarantine") == 2


def test_schema_migrations_upgrade_old_files_and_refuse_newer(tmp_path: Path) -> None:
    import duckdb

    from twinlab.data import _store

    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_utc TIMESTAMP)")
    for statement in _store._MIGRATIONS[0]:
        con.execute(statement)
    con.execute("INSERT INTO schema_version VALUES (1, now())")
    con.close()
    with Store(path) as store:
        assert store.schema_version == _store.SCHEMA_VERSION == 2
        assert store.save_twin("t", {"a": 1}) == 1
        store.con.execute("INSERT INTO schema_version VALUES (99, now())")
    with pytest.raises(RuntimeError, match="newer"):
        Store(path)


def test_nullable_integer_columns() -> None:
    frame = pd.DataFrame({"t": ["2024-01-01 00:00", "2024-01-01 00:05", "2024-01-01 00:10"],
                          "bolus": pd.array([2, None, 0], dtype="Int64")})  # fmt: skip
    mapping = Mapping("ints", "t", {"bolus": Column("bolus", "insulin", "event", unit="U", required=False,
                                                    skip_zero=True)}, entity_id="p")  # fmt: skip
    r = ingest_frame(Store(), frame, mapping, now=NOW)
    assert (r.n_stored, r.n_quarantined, r.n_skipped) == (1, 0, 2)
