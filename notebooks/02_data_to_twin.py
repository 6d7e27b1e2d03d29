# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 · From a raw export to a twin's inputs
#
# A twin is only as good as the data it is fed. Real exports come in many formats, units, clocks and faults. This
# notebook takes two real people with type 1 diabetes from their raw files to the `GlucoseRecord` that the twin
# simulates and personalises:
#
# 1. **ShanghaiT1DM** (an Excel export per visit: 15-minute CGM, insulin written as text, meals as food lists), and
# 2. **D1NAMO** (a CSV: 5-minute CGM, insulin doses, meal calories),
#
# through one store (`twinlab.data.Store`, DuckDB) that keeps every value or quarantines it with its reason. Then it
# runs the *unpersonalised* model on each person's own meals and insulin, beside their CGM: the gap between the two is
# what personalisation (notebook 03) closes.
#
# The data sets are not shipped with twinlab; `twinlab.datasets` reads them from `$TWINLAB_DATA_DIR` and checks each
# file's SHA-256.

# %%
import os
import tempfile
from pathlib import Path

import jax
import matplotlib.pyplot as plt
import numpy as np

import twinlab as tl

jax.config.update("jax_enable_x64", True)
SMOKE = os.environ.get("TWINLAB_SMOKE") == "1"  # the test suite runs this notebook with small sizes
MINUTES = 720 if SMOKE else 1440

# %% [markdown]
# ## 1 · Ingest a ShanghaiT1DM visit
# One call reads the Excel file, parses the insulin text ("insulin degludec, 16 IU"), estimates each meal's
# carbohydrate from its foods and gram weights (with an uncertainty), converts local Shanghai time to UTC, and stores
# it. The report counts what was stored and what was quarantined, and why.

# %%
store = tl.data.Store()  # in memory; tl.data.Store("project.duckdb") keeps it in a file
report = tl.data.shanghai_ingest(store, "1001_0")
print(f"stored {report.n_stored}, quarantined {report.n_quarantined}, empty cells skipped {report.n_skipped}")
print(report.reasons)
store.quarantine(report.ingest_id)[["row_number", "reason", "raw"]].head()

# %% [markdown]
# Ingesting the same file again adds nothing:

# %%
print(tl.data.shanghai_ingest(store, "1001_0").already_ingested, store.count("observations"))

# %% [markdown]
# ## 2 · The record: CGM, meals, boluses and basal on a clock of minutes
# Meals keep their estimated carbohydrate and its standard deviation; pump boluses are events; the pump's basal rate
# is carried forward from each change point.

# %%
shanghai = tl.data.glucose_record(store, "shanghai_t1dm/1001_0", source="ShanghaiT1DM 1001_0")
meals = shanghai.schedule._meals
print(f"{shanghai.n_readings} readings over {shanghai.minutes / 1440:.1f} days from {shanghai.start}")
print(f"{len(meals)} meals; first: {[(m, round(g), round(float(sd))) for (m, g), sd in zip(meals[:3], shanghai.meal_carbs_sd_g[:3], strict=True)]}  (minute, g, sd g)")
print(f"{len(shanghai.schedule._boluses)} boluses, {len(shanghai.schedule._basal or ())} basal change points")

# %% [markdown]
# ## 3 · D1NAMO: calories instead of carbohydrate, long-acting insulin instead of a pump
# D1NAMO gives meal energy, not carbohydrate: the loader estimates carbohydrate as 45 % of the energy (4 kcal/g) with
# an sd of 12 percentage points. Its long-acting insulin cannot be a bolus in the UVA/Padova model, so a daily dose
# becomes an equivalent basal rate (dose / 24 U/h until the next injection).

# %%
print(tl.data.d1namo_ingest(store).reasons or "nothing quarantined")
d1namo = tl.data.d1namo_record(1, store)
print(f"{d1namo.n_readings} readings from {d1namo.start}; basal (minute, U/h): {d1namo.schedule._basal}")

# %% [markdown]
# ## 4 · The unpersonalised model on each person's own inputs
# `adult#001` of the virtual cohort, fed each person's meals, boluses and basal, beside their CGM, from an hour before
# the first meal with a recorded content (ShanghaiT1DM 1001_0's first days have none). The model starts
# from its own steady state and does not know this person: the mismatch is expected, and it is what the Bayesian
# personalisation of notebook 03 fits.

# %%
model, adult = tl.glucose.UVAPadova(), tl.glucose.patient("adult#001")
fig, axes = plt.subplots(1, 2, figsize=(11, 3.2), sharey=True)
for ax, (name, record) in zip(axes, [("ShanghaiT1DM 1001_0", shanghai), ("D1NAMO 1", d1namo)], strict=True):
    first_meal = record.schedule._meals[0][0] if record.schedule._meals else 0
    start = max(0, min(first_meal - 60, record.minutes - MINUTES))  # from an hour before the first recorded meal
    day = record.window(start, start + MINUTES)
    traj = tl.glucose.simulate(model, adult, day.schedule, minutes=MINUTES)
    ax.plot(day.cgm_minute / 60, day.cgm_mg_dl, ".", ms=3, label="CGM")
    ax.plot(np.asarray(traj.t) / 60, traj.bg, label="unpersonalised model")
    for m, g in day.schedule._meals:
        ax.axvline(m / 60, color="tab:green", alpha=0.3)
    ax.set(title=name, xlabel=f"hours from {day.start[:16]} UTC")
axes[0].set_ylabel("glucose [mg/dL]")
axes[0].legend()
rmse = float(np.sqrt(np.mean((np.asarray(traj.bg)[day.cgm_minute.astype(int)] - day.cgm_mg_dl) ** 2)))
print(f"D1NAMO 1, the {MINUTES // 60} h shown: RMSE of the unpersonalised model against CGM {rmse:.0f} mg/dL")

# %% [markdown]
# ## 5 · Keep it: the record saved with `twinlab.io`
# A record, a parameter set or any pytree of arrays saves as one safetensors file with a JSON spec (atomic, never
# pickled), or as a versioned entry in the store.

# %%
path = Path(tempfile.mkdtemp()) / "shanghai_1001_0.twinlab"
tl.io.save(shanghai, path)
back = tl.io.load(path)
print(back.subject, back.n_readings, np.array_equal(back.cgm_mg_dl, shanghai.cgm_mg_dl))
print("store versions:", store.save_twin("shanghai_1001_0", shanghai), store.twin_versions("shanghai_1001_0"))
