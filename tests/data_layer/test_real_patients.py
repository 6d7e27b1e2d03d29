from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import twinlab as tl
from twinlab.data import (
    Column,
    Mapping,
    Store,
    asof,
    d1namo_ingest,
    d1namo_record,
    estimate_meal,
    glucose_record,
    ingest_frame,
    intermediate_acting_basal,
    long_acting_basal,
    real_records,
    shanghai_ingest,
    shanghai_record,
    shanghai_visits,
)


def test_meal_estimates() -> None:
    m = estimate_meal("Coarse grain steamed bread 140 g\nEgg\t 69 g\nBoiled vegetable 111 g\nCashew nuts")
    assert m.carbs_g == pytest.approx(140 * 0.45 + 69 * 0.01 + 111 * 0.04)
    assert [f for f, _, _ in m.items] == ["coarse grain steamed bread", "egg", "boiled vegetable"]
    assert m.unparsed == (("Cashew nuts", "no weight in g or ml"),)
    assert m.sd_g > 15.0
    assert estimate_meal("2 sugar pills (equal to 30 g glucose)").carbs_g == pytest.approx(30.0)
    assert estimate_meal("Eggplant and soybean 59 g").items[0][2] == pytest.approx(59 * 0.10)  # soybean, not egg


def test_long_acting_as_basal() -> None:
    t = pd.Series(pd.to_datetime(["2024-01-02 22:00", "2024-01-01 22:00"]))
    out = long_acting_basal(t, np.array([24.0, 12.0]), pd.Timestamp("2024-01-05"))
    assert out["rate_u_per_h"].tolist() == [0.5, 1.0, 0.0]
    assert str(out["time_utc"].iloc[-1]) == "2024-01-03 22:00:00"


def test_nph_as_basal_spreads_each_dose_over_12_hours_and_overlaps_add() -> None:
    t = pd.Series(pd.to_datetime(["2024-01-01 07:00", "2024-01-01 13:00"]))
    out = intermediate_acting_basal(t, np.array([12.0, 6.0]))
    assert out["rate_u_per_h"].tolist() == [1.0, 1.5, 0.5, 0.0]
    assert [str(x) for x in out["time_utc"]] == [
        "2024-01-01 07:00:00", "2024-01-01 13:00:00", "2024-01-01 19:00:00", "2024-01-02 01:00:00"
    ]  # fmt: skip
    assert intermediate_acting_basal(pd.Series([], dtype="datetime64[ns]"), np.array([])).empty
    with pytest.raises(ValueError, match="one dose per time"):
        intermediate_acting_basal(t, np.array([1.0]))


def test_record_from_the_store_carries_basal_forward_and_keeps_events() -> None:
    t = pd.date_range("2024-01-01", periods=12, freq="15min")
    frame = pd.DataFrame({"t": t.strftime("%Y-%m-%d %H:%M"), "bg": np.linspace(100, 155, 12),
                          "basal": [None, None, "0.8", None, None, None, None, "1.2", None, None, None, None],
                          "carbs": [None, 40, None, None, None, None, None, None, None, None, None, None],
                          "bolus": [None, 4, None, None, None, None, None, None, None, None, None, None]})  # fmt: skip
    before = pd.DataFrame({"t": ["2023-12-31 23:00"], "bg": [99.0], "basal": ["0.6"], "carbs": [None], "bolus": [None]})
    cols = {"bg": Column("cgm", "glucose", unit="mg/dL"),
            "basal": Column("basal", "insulin_rate", "rate", unit="U/h", required=False),
            "carbs": Column("meal_carbs", "carbohydrate", "event", unit="g", required=False),
            "bolus": Column("bolus", "insulin", "event", unit="U", required=False)}  # fmt: skip
    store = Store()
    ingest_frame(store, pd.concat([before, frame]), Mapping("x", "t", cols, entity_id="p"), now="2030-01-01")
    rec = glucose_record(store, "p", start="2024-01-01")
    assert rec.cgm_minute.tolist() == list(range(0, 180, 15)) and rec.minutes == 166
    assert rec.schedule._basal == ((0, 0.6), (30, 0.8), (105, 1.2))
    assert rec.schedule._meals == ((15, 40.0),) and rec.schedule._boluses == ((15, 4.0),)
    assert rec.meal_carbs_sd_g is not None and rec.meal_carbs_sd_g.tolist() == [0.0]
    grid = pd.date_range("2024-01-01 00:20", periods=3, freq="1h")
    aligned = asof(store, ["p"], "basal", grid)
    assert aligned["value"].tolist() == [0.6, 0.8, 1.2]
    stale = asof(store, ["p"], "cgm", pd.DatetimeIndex(["2024-01-02"]), tolerance=pd.Timedelta("1h"))
    assert np.isnan(stale["value"].iloc[0])


@pytest.mark.slow
def test_shanghai_every_visit(real_data: Path) -> None:
    store = Store()
    visits = shanghai_visits()
    assert len(visits) == 16
    totals = {"stored": 0, "quarantined": 0}
    for v in visits:
        report = shanghai_ingest(store, v)
        assert report.n_values == report.n_stored + report.n_quarantined
        totals["stored"] += report.n_stored
        totals["quarantined"] += report.n_quarantined
        assert shanghai_ingest(store, v).already_ingested
    assert totals["quarantined"] == store.count("quarantine") > 0
    reasons = set(store.quarantine()["reason"].str.split(":").str[0])
    assert {"meal recorded without its content", "intravenous infusion"} <= reasons
    assert "unknown insulin" not in reasons, "every insulin named in the data is converted (premixed included)"
    records = real_records("shanghai_t1dm", store)
    assert len(records) == 16 and all(r.n_readings > 300 for r in records.values())
    assert sorted(real_records("d1namo", store)) == [f"d1namo/{i}" for i in range(1, 10)]


def test_shanghai_record(real_data: Path) -> None:
    rec = shanghai_record("1001_0")
    assert rec.n_readings == 658 and rec.start == "2021-07-30T08:43:00Z"  # 16:43 in Shanghai (UTC+8)
    assert np.all(np.diff(rec.cgm_minute) >= 15) and rec.cgm_mg_dl.min() >= 39.6
    assert len(rec.schedule._meals) > 5 and len(rec.schedule._boluses) > 10 and rec.schedule._basal is not None
    assert rec.meal_carbs_sd_g is not None and np.all(rec.meal_carbs_sd_g > 0)
    assert 20 < np.median([g for _, g in rec.schedule._meals]) < 120
    # 1006_0 injects insulin detemir: it becomes an equivalent basal rate (dose / 24 U/h).
    mdi = shanghai_record("1006_0")
    rates = {round(r * 24, 6) for _, r in mdi.schedule._basal or ()}
    assert rates & {6.0, 16.0, 8.0}
    # 1005_0 injects Novolin 30R (30 % regular + 70 % NPH): the regular part is a bolus, the NPH part a 12 h rate.
    store = Store()
    shanghai_ingest(store, "1005_0")
    nph = store.observations("shanghai_t1dm/1005_0", "intermediate_acting_insulin")
    boluses = store.observations("shanghai_t1dm/1005_0", "bolus").set_index("time_utc")["value"]
    assert len(nph) == 7
    np.testing.assert_allclose(boluses.reindex(nph["time_utc"]).to_numpy(), nph["value"].to_numpy() * 0.3 / 0.7)
    premix = shanghai_record("1005_0", store)
    assert premix.schedule._basal is not None and max(r for _, r in premix.schedule._basal) > 0


def test_d1namo_records(real_data: Path) -> None:
    store = Store()
    report = d1namo_ingest(store)
    assert report.n_rows == 8055 and report.n_quarantined == 0
    counts = store.con.execute("SELECT stream_id, count(*) FROM observations GROUP BY stream_id").fetchall()
    assert dict(counts) == {"cgm": 8055, "bolus": 83, "long_acting_insulin": 8, "meal_kcal": 71,
                            "meal_carbs": 71, "meal_carbs_sd": 71}  # fmt: skip
    rec = d1namo_record(1, store)
    assert rec.n_readings == 1413 and rec.schedule._basal is not None
    assert rec.schedule._basal[0][1] == pytest.approx(31 / 24)
    kcal = store.observations("d1namo/1", "meal_kcal")["value"].to_numpy()
    np.testing.assert_allclose(sorted(g for _, g in rec.schedule._meals), sorted(kcal * 0.45 / 4))
    # The record simulates as it is: the schedule is the model's input.
    traj = tl.glucose.simulate(tl.glucose.UVAPadova(), tl.glucose.patient("adult#001"), rec.window(0, 360).schedule,
                               minutes=360)  # fmt: skip
    assert np.all(np.isfinite(np.asarray(traj.bg)))
