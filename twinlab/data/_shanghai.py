"""ShanghaiT1DM: 16 visits of 12 people with type 1 diabetes, from the Excel exports to the store and to records.

Data set: Zhao et al., "Chinese diabetes datasets for data-driven machine learning", Sci. Data 10:35 (2023),
doi:10.1038/s41597-023-01940-7; CC BY 4.0 as stated on figshare. Read through `twinlab.datasets.fetch` (SHA-256
checked at every load); times are local (Asia/Shanghai) and are stored in UTC.

What each column becomes (one entity per visit, ``shanghai_t1dm/<patient>_<visit>``):

* ``CGM (mg / dl)`` -> ``cgm`` (15-minute readings); ``CBG`` -> ``cbg``; ``Blood Ketone`` -> ``ketone``.
* ``CSII - bolus insulin`` (U) and the short-acting doses of ``Insulin dose - s.c.`` (Novolin R, Humulin R,
  Gansulin R) -> ``bolus``, summed when both fall on one row.
* ``CSII - basal insulin`` (U/h, a rate given at its change points; "temporarily suspend" is declared as 0) ->
  ``basal``.
* long-acting doses of ``Insulin dose - s.c.`` (degludec, glargine, detemir) -> ``long_acting_insulin`` (U), which
  `glucose_record` turns into an equivalent basal rate (``dose / 24`` U/h until the next injection).
* premixed human insulin (Novolin 30R: 30 % regular + 70 % NPH; Novolin 50R: 50 % + 50 %, as labelled) is split:
  the regular part -> ``bolus``, the NPH part -> ``intermediate_acting_insulin`` (U), which `glucose_record` turns
  into an equivalent basal rate (``dose / 12`` U/h for 12 h).
* ``Dietary intake`` -> ``meal_carbs`` (g) and ``meal_carbs_sd`` (g), estimated from the foods and weights with the
  table in ``data/food_carbs.csv`` (see `estimate_meal`); the source gives no carbohydrate.

Quarantined with their reasons: insulins not named above, intravenous infusions (their duration is not
recorded), meals recorded as "data not available", diary items without a weight or with a food the table lacks (the
meal keeps the rest, with a wider sd), text in the bolus column. The ``Non-insulin hypoglycemic agents`` column
(acarbose) is not read.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from twinlab import datasets
from twinlab.data._align import glucose_record
from twinlab.data._foods import estimate_meal
from twinlab.data._ingest import IngestReport, ingest_frame
from twinlab.data._mapping import Column, Mapping
from twinlab.data._readers import _file_sha256, read_table
from twinlab.data._store import Store
from twinlab.glucose import GlucoseRecord

__all__ = ["shanghai_ingest", "shanghai_record", "shanghai_visits"]

_SHORT = ("novolin r", "humulin r", "gansulin r")
_LONG = ("degludec", "glargine", "detemir")
_PREMIXED_REGULAR_FRACTION = {"novolin 30r": 0.30, "novolin 50r": 0.50}
_DOSE = re.compile(r"([A-Za-z][A-Za-z0-9 ]*?)\s*,\s*(\d+(?:\.\d+)?)\s*IU", re.IGNORECASE)
_PARSER_VERSION = "2"


def shanghai_visits() -> list[str]:
    """The visits, e.g. ``"1001_0"``."""
    return sorted(f.split("/")[1][:6] for f in datasets.DATASETS["shanghai_t1dm"].files if f.count("_") == 3)


def _file(visit: str) -> str:
    for f in datasets.DATASETS["shanghai_t1dm"].files:
        if f.startswith(f"Shanghai_T1DM/{visit}_"):
            return f
    raise KeyError(f"no ShanghaiT1DM visit {visit!r}; visits: {', '.join(shanghai_visits())}")


def _col(frame: pd.DataFrame, prefix: str) -> pd.Series:
    """The column whose name starts with ``prefix`` (the files differ in spacing and units in the names)."""
    names = [c for c in frame.columns if str(c).replace(" ", "").lower().startswith(prefix.replace(" ", "").lower())]
    if len(names) != 1:
        raise ValueError(f"expected one column starting {prefix!r} in a ShanghaiT1DM file; found {names}.")
    return frame[names[0]]


def _derive(raw: pd.DataFrame) -> tuple[pd.DataFrame, list[tuple[int, dict[str, Any], str]]]:
    """The numeric columns the mapping reads, and the rows rejected while parsing text."""
    n = len(raw)
    rejected: list[tuple[int, dict[str, Any], str]] = []
    bolus, long_acting, nph = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    carbs, carbs_sd = np.full(n, np.nan), np.full(n, np.nan)
    csii = pd.to_numeric(_col(raw, "CSII - bolus").astype("string").str.strip(), errors="coerce").to_numpy(float)
    when = _col(raw, "Date").astype(str).to_numpy()
    for i, text in enumerate(_col(raw, "CSII - bolus")):
        if pd.notna(text) and np.isnan(csii[i]):
            rejected.append((i, {"time": when[i], "bolus": str(text)}, f"not a number: bolus column holds {text!r}"))
    bolus = np.where(np.isnan(csii), bolus, csii)
    for i, text in enumerate(_col(raw, "Insulin dose - s.c.")):
        if pd.isna(text):
            continue
        clean = str(text).replace("\xa0", " ")
        for name, dose in _DOSE.findall(clean):
            name, units = name.strip().lower(), float(dose)
            if any(k in name for k in _LONG):
                long_acting[i] = np.nansum([long_acting[i], units])
            elif name in _SHORT:
                bolus[i] = np.nansum([bolus[i], units])
            elif name in _PREMIXED_REGULAR_FRACTION:
                regular = _PREMIXED_REGULAR_FRACTION[name] * units
                bolus[i] = np.nansum([bolus[i], regular])
                nph[i] = np.nansum([nph[i], units - regular])
            else:
                rejected.append((i, {"time": when[i], "insulin": clean}, f"unknown insulin: {name}"))
        if not _DOSE.findall(clean):
            rejected.append((i, {"time": when[i], "insulin": clean}, "unparsed insulin text"))
    for i, text in enumerate(_col(raw, "Insulin dose - i.v.")):
        if pd.notna(text):
            rejected.append((i, {"time": when[i], "iv": str(text)}, "intravenous infusion: duration not recorded"))
    for i, text in enumerate(_col(raw, "Dietary intake")):
        if pd.isna(text) or not str(text).strip():
            continue
        if str(text).strip().lower() == "data not available":
            rejected.append((i, {"time": when[i], "meal": str(text)}, "meal recorded without its content"))
            continue
        meal = estimate_meal(str(text))
        for line, why in meal.unparsed:
            rejected.append((i, {"time": when[i], "meal item": line}, f"meal item not estimated: {why}"))
        if meal.items:
            carbs[i], carbs_sd[i] = meal.carbs_g, meal.sd_g
    derived = pd.DataFrame(
        {
            "time": _col(raw, "Date"),
            "cgm": _col(raw, "CGM"),
            "cbg": _col(raw, "CBG"),
            "ketone": _col(raw, "Blood Ketone"),
            "basal": _col(raw, "CSII - basal").astype(object),
            "bolus": bolus,
            "long_acting": long_acting,
            "nph": nph,
            "carbs": carbs,
            "carbs_sd": carbs_sd,
        }
    )
    return derived, rejected


def _mapping(visit: str) -> Mapping:
    def sparse(stream: str, quantity: str, kind: str, unit: str, **rules: Any) -> Column:
        return Column(stream, quantity, kind, unit=unit, required=False, **rules)

    return Mapping(
        source=f"shanghai_t1dm/{visit}",
        time="time",
        entity_id=f"shanghai_t1dm/{visit}",
        timezone="Asia/Shanghai",
        columns={
            "cgm": Column("cgm", "glucose", unit="mg/dL"),
            "cbg": sparse("cbg", "glucose", "level", "mg/dL"),
            "ketone": sparse("ketone", "ketone", "level", "mmol/L"),
            "basal": sparse("basal", "insulin_rate", "rate", "U/h", text_values={"temporarily suspend": 0.0}),
            "bolus": sparse("bolus", "insulin", "event", "U", skip_zero=True),
            "long_acting": sparse("long_acting_insulin", "insulin", "event", "U"),
            "nph": sparse("intermediate_acting_insulin", "insulin", "event", "U"),
            "carbs": sparse("meal_carbs", "carbohydrate", "event", "g"),
            "carbs_sd": sparse("meal_carbs_sd", "carbohydrate", "event", "g"),
        },
    )


def shanghai_ingest(store: Store, visit: str) -> IngestReport:
    """Ingest one visit's Excel export into ``store`` (again: nothing added)."""
    path = datasets.fetch("shanghai_t1dm", _file(visit))
    mapping = _mapping(visit)
    fingerprint = _file_sha256(path, mapping.fingerprint() + _PARSER_VERSION)
    if store.con.execute("SELECT 1 FROM ingests WHERE fingerprint = ?", [fingerprint]).fetchall():
        return IngestReport("", mapping.source, 0, 0, 0, 0, 0, already_ingested=True)
    derived, rejected = _derive(read_table(path))
    return ingest_frame(store, derived, mapping, fingerprint=fingerprint, rejected=rejected)


def shanghai_record(visit: str, store: Store | None = None) -> GlucoseRecord:
    """One visit as a `GlucoseRecord` (ingested into ``store`` first if needed; default a fresh in-memory store)."""
    store = store if store is not None else Store()
    shanghai_ingest(store, visit)
    return glucose_record(store, f"shanghai_t1dm/{visit}", source=f"shanghai_t1dm/{_file(visit)}")
