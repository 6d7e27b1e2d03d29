"""Alignment: streams onto a twin's time grid (as-of joins), and a person's streams into a `GlucoseRecord`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from twinlab.data._store import Store, utc_naive
from twinlab.glucose import GlucoseRecord, Schedule

__all__ = [
    "INTERMEDIATE_ACTING_HOURS",
    "LONG_ACTING_HOURS",
    "asof",
    "glucose_record",
    "intermediate_acting_basal",
    "long_acting_basal",
    "real_records",
]

LONG_ACTING_HOURS = 24.0
INTERMEDIATE_ACTING_HOURS = 12.0
"""Hours over which an NPH (isophane) dose is spread: its effective duration is about 12-18 h (onset 1-2 h, peak
4-12 h; ADA Standards of Care, insulin table); premixed human insulins are injected about every 12 h."""


def asof(
    store: Store, entity_ids: Sequence[str], stream_id: str, grid_utc: pd.DatetimeIndex, *, tolerance: Any = None
) -> pd.DataFrame:
    """The latest value of ``stream_id`` at or before each grid time, per entity (an as-of join in DuckDB).

    Args:
        store: the store.
        entity_ids: the entities (e.g. a population).
        stream_id: the stream.
        grid_utc: (n,) the grid's times (UTC; naive times are taken as UTC).
        tolerance: the oldest value accepted (a ``pd.Timedelta``); older ones give NaN. None: any age.

    Returns:
        A frame of ``len(entity_ids) * n`` rows: ``entity_id``, ``time_utc``, ``value`` (NaN where none), and
        ``value_time_utc`` (when the value was observed), sorted by entity and time.
    """
    grid = pd.DatetimeIndex([utc_naive(t) for t in grid_utc]) if len(grid_utc) else pd.DatetimeIndex([])
    frame = pd.DataFrame(
        {
            "entity_id": np.repeat(np.asarray(entity_ids, dtype=object), len(grid)),
            "time_utc": np.tile(grid.to_numpy("datetime64[us]"), len(entity_ids)),
        }
    )
    store.con.register("_tl_grid", frame)
    out = store.con.execute(
        "SELECT g.entity_id, g.time_utc, o.value, o.time_utc AS value_time_utc FROM _tl_grid g "
        "ASOF LEFT JOIN (SELECT entity_id, time_utc, value FROM observations WHERE stream_id = ?) o "
        "ON g.entity_id = o.entity_id AND g.time_utc >= o.time_utc ORDER BY g.entity_id, g.time_utc",
        [stream_id],
    ).df()
    store.con.unregister("_tl_grid")
    if tolerance is not None:
        stale = (out["time_utc"] - out["value_time_utc"]) > pd.Timedelta(tolerance)
        out.loc[stale, "value"] = np.nan
    return out


def long_acting_basal(times_utc: pd.Series, doses_u: np.ndarray, end_utc: pd.Timestamp) -> pd.DataFrame:
    """Long-acting insulin injections as an equivalent basal rate: ``dose / 24`` U/h from each injection.

    The UVA/Padova model has no long-acting insulin (a bolus enters its fast subcutaneous compartments), so a daily
    long-acting dose (degludec, glargine, detemir) is taken as a steady infusion of the same daily amount: ``dose /
    24`` U/h from the injection until the next injection; after the last one, for 24 h (then 0, unless ``end_utc``
    comes first). This keeps the daily total and ignores the onset and the peak-less profile's small variations.

    Returns:
        Change points: ``time_utc``, ``rate_u_per_h``.
    """
    t = pd.to_datetime(pd.Series(times_utc)).reset_index(drop=True)
    order = np.argsort(t.to_numpy(), kind="stable")
    t, doses = t.iloc[order].reset_index(drop=True), np.asarray(doses_u, np.float64)[order]
    rows = [(t.iloc[i], doses[i] / LONG_ACTING_HOURS) for i in range(len(t))]
    if len(t):
        last_end = t.iloc[-1] + pd.Timedelta(hours=LONG_ACTING_HOURS)
        if last_end < end_utc:
            rows.append((last_end, 0.0))
    return pd.DataFrame(rows, columns=["time_utc", "rate_u_per_h"])


def intermediate_acting_basal(times_utc: pd.Series, doses_u: np.ndarray) -> pd.DataFrame:
    """NPH (isophane) doses as an equivalent basal rate: ``dose / 12`` U/h for 12 h after each injection.

    The UVA/Padova model has no intermediate-acting insulin either, so each dose (the NPH part of a premixed insulin
    such as Novolin 30R) is taken as a steady infusion of the same amount over `INTERMEDIATE_ACTING_HOURS`;
    overlapping doses add. This keeps the amount and the timing to within half a day and ignores NPH's onset and
    peak (the model then sees the insulin earlier and flatter than it acts).

    Returns:
        Change points: ``time_utc``, ``rate_u_per_h`` (0 after the last dose's window).
    """
    t = pd.to_datetime(pd.Series(times_utc)).reset_index(drop=True)
    doses = np.asarray(doses_u, np.float64)
    if len(t) != len(doses):
        raise ValueError(f"{len(t)} injection times but {len(doses)} doses; give one dose per time.")
    span = pd.Timedelta(hours=INTERMEDIATE_ACTING_HOURS)
    steps = [(t.iloc[i], doses[i] / INTERMEDIATE_ACTING_HOURS) for i in range(len(t))]
    steps += [(t.iloc[i] + span, -doses[i] / INTERMEDIATE_ACTING_HOURS) for i in range(len(t))]
    if not steps:
        return pd.DataFrame(columns=["time_utc", "rate_u_per_h"])
    frame = pd.DataFrame(steps, columns=["time_utc", "delta"]).groupby("time_utc", sort=True)["delta"].sum()
    rate = np.round(np.cumsum(frame.to_numpy()), 12)  # sums of +d and -d return to exactly 0
    return pd.DataFrame({"time_utc": frame.index, "rate_u_per_h": rate})


def _in_force(points: pd.DataFrame, at: pd.Timestamp) -> float | None:
    before = points[points["time_utc"] <= at]
    return None if before.empty else float(before["rate_u_per_h"].iloc[-1])


def glucose_record(
    store: Store,
    entity_id: str,
    *,
    cgm: str = "cgm",
    meals: str = "meal_carbs",
    meal_sd: str = "meal_carbs_sd",
    boluses: str = "bolus",
    basal: str = "basal",
    long_acting: str = "long_acting_insulin",
    intermediate_acting: str = "intermediate_acting_insulin",
    start: Any = None,
    end: Any = None,
    source: str = "",
) -> GlucoseRecord:
    """One person's stored streams as a `GlucoseRecord` on a clock of whole minutes.

    Readings (``cgm``) are levels; meals (``meals``, g, with their estimate's sd in ``meal_sd``) and boluses (U) are
    events kept at their minute; the basal rate (``basal``, U/h) is carried forward from each change point, plus the
    equivalent rates of long-acting injections (``long_acting``, U; see `long_acting_basal`) and of NPH doses
    (``intermediate_acting``, U; see `intermediate_acting_basal`). The rate in force at ``start`` starts the record.
    Streams that are absent are empty.

    Args:
        store: the store.
        entity_id: the person.
        cgm: the readings' stream (mg/dL).
        meals: the meals' stream (g of carbohydrate).
        meal_sd: the stream of the meals' carbohydrate sd (g), at the meals' times.
        boluses: the boluses' stream (U).
        basal: the basal rate's stream (U/h, change points).
        long_acting: the long-acting injections' stream (U).
        intermediate_acting: the NPH doses' stream (U), e.g. the NPH part of premixed insulin.
        start: minute 0 (UTC); default the first reading, floored to the minute.
        end: the end of the record (excluded); default one minute after the last reading.
        source: what to record as the data's origin.
    """
    readings = store.observations(entity_id, cgm, start, end)
    if readings.empty:
        raise ValueError(f"no {cgm!r} readings for {entity_id!r} in the window; nothing to build a record from.")
    t0 = utc_naive(start).floor("min") if start is not None else readings["time_utc"].iloc[0].floor("min")
    t_end = utc_naive(end) if end is not None else readings["time_utc"].iloc[-1] + pd.Timedelta(minutes=1)
    minutes = int(np.ceil((t_end - t0) / pd.Timedelta(minutes=1)))

    def minute_of(times: pd.Series) -> np.ndarray:
        return np.floor((times - t0) / pd.Timedelta(minutes=1)).to_numpy(np.int64)

    cgm_minute = minute_of(readings["time_utc"])
    if np.any(np.diff(cgm_minute) == 0):
        raise ValueError(f"{entity_id!r} has two {cgm!r} readings within one minute; the record's clock is minutes.")
    meal_obs = store.observations(entity_id, meals, t0, t_end)
    sd_obs = store.observations(entity_id, meal_sd, t0, t_end).set_index("time_utc")["value"]
    meal_list = sorted(
        zip(minute_of(meal_obs["time_utc"]).tolist(), meal_obs["value"].tolist(),
            sd_obs.reindex(meal_obs["time_utc"]).fillna(0.0).tolist(), strict=True)
    )  # fmt: skip
    bolus_obs = store.observations(entity_id, boluses, t0, t_end)
    points = _basal_points(store, entity_id, basal, (long_acting, intermediate_acting), t0, t_end)
    basal_events = None if points.empty else list(zip(minute_of(points["time_utc"]).tolist(),
                                                      points["rate_u_per_h"].tolist(), strict=True))  # fmt: skip
    schedule = Schedule(
        meals=[(m, g) for m, g, _ in meal_list],
        boluses=list(zip(minute_of(bolus_obs["time_utc"]).tolist(), bolus_obs["value"].tolist(), strict=True)),
        basal=basal_events,
    )
    return GlucoseRecord(
        cgm_minute.astype(np.float64),
        readings["value"].to_numpy(np.float64),
        schedule,
        minutes=minutes,
        meal_carbs_sd_g=np.array([sd for _, _, sd in meal_list]) if meal_list else None,
        start=t0.isoformat() + "Z",
        subject=entity_id,
        source=source,
    )


def _basal_points(
    store: Store, entity_id: str, basal: str, injected: tuple[str, str], t0: pd.Timestamp, t_end: pd.Timestamp
) -> pd.DataFrame:
    """Change points of pump basal + long- and intermediate-acting equivalent rates in [t0, t_end), t0's rate first."""
    pump = store.observations(entity_id, basal, None, t_end)[["time_utc", "value"]]
    pump = pump.rename(columns={"value": "rate_u_per_h"})
    long_shots = store.observations(entity_id, injected[0], None, t_end)
    la = long_acting_basal(long_shots["time_utc"], long_shots["value"].to_numpy(), t_end)
    nph_shots = store.observations(entity_id, injected[1], None, t_end)
    nph = intermediate_acting_basal(nph_shots["time_utc"], nph_shots["value"].to_numpy())
    sources = [frame for frame in (pump, la, nph) if not frame.empty]
    if not sources:
        return pd.DataFrame(columns=["time_utc", "rate_u_per_h"])
    times = sorted({t for frame in sources for t in frame["time_utc"]})
    in_window = [t for t in times if t0 < t < t_end]
    rows = []
    for t in [t0, *in_window]:
        rates = [_in_force(frame, t) for frame in sources]
        if all(r is None for r in rates):
            continue  # before any known rate: the patient's own basal
        rows.append((t, sum(r for r in rates if r is not None)))
    out = pd.DataFrame(rows, columns=["time_utc", "rate_u_per_h"])
    return out[out["rate_u_per_h"].diff().ne(0)].reset_index(drop=True)


def real_records(dataset: str, store: Store | None = None) -> dict[str, GlucoseRecord]:
    """Every real person of ``dataset`` (``"shanghai_t1dm"``: one record per visit; ``"d1namo"``: per person).

    Keys are the entity ids (``"shanghai_t1dm/1001_0"``, ``"d1namo/1"``). Ingests into ``store`` (default a fresh
    in-memory store) first; see `shanghai_record` and `d1namo_record` for what each column becomes.
    """
    from twinlab.data._d1namo import d1namo_record, d1namo_subjects
    from twinlab.data._shanghai import shanghai_record, shanghai_visits

    store = store if store is not None else Store()
    if dataset == "shanghai_t1dm":
        return {f"shanghai_t1dm/{v}": shanghai_record(v, store) for v in shanghai_visits()}
    if dataset == "d1namo":
        return {f"d1namo/{s}": d1namo_record(s, store) for s in d1namo_subjects()}
    raise KeyError(f"no real-patient loader for {dataset!r}; loaders: 'shanghai_t1dm', 'd1namo'")
