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
# # From data to a personal twin · 1 · A person's glucose readings
#
# A continuous glucose monitor (CGM) reads glucose under the skin every few minutes. We start from a real person:
# subject 1 of the D1NAMO study (people with type 1 diabetes wearing a CGM, logging meals and insulin), read through
# `twinlab.datasets`, which checks every file's SHA-256 (set `TWINLAB_DATA_DIR` to the folder holding the data).
#
# **You will learn:** what a `GlucoseRecord` holds, and the standard numbers clinicians read from a CGM trace.
# Exercises are marked ✏️; their solutions are in the cells tagged `solution` (removed in the students' copies).

# %%
import os

import jax
import matplotlib.pyplot as plt
import numpy as np

import twinlab as tl

jax.config.update("jax_enable_x64", True)
SMOKE = os.environ.get("TWINLAB_SMOKE") == "1"  # the test suite runs this notebook with small sizes
DAYS = 1 if SMOKE else 3

person = tl.data.d1namo_record(1)
print(f"{person.subject}: {person.n_readings} readings over {person.minutes / 1440:.1f} days, from {person.start}")
print(f"{len(person.schedule.meals)} meals, {len(person.schedule.boluses)} boluses")

# %% [markdown]
# Times are whole minutes from the start of the record; glucose is in mg/dL. Meals are grams of carbohydrate (here
# estimated from the logged calories, with an uncertainty in `meal_carbs_sd_g`), boluses are units of insulin.

# %%
first = person.window(0, DAYS * 1440)
fig, ax = plt.subplots(figsize=(9, 3))
ax.plot(first.cgm_minute / 60, first.cgm_mg_dl, ".", ms=3, label="CGM")
for minute, grams in first.schedule.meals:
    ax.axvline(minute / 60, color="tab:green", alpha=0.3)
ax.axhspan(70, 180, color="tab:green", alpha=0.08, label="target range 70-180 mg/dL")
ax.set(xlabel="hours from the start", ylabel="glucose [mg/dL]")
ax.legend(loc="upper right")
plt.show()

# %% [markdown]
# ## The numbers clinicians read
# The international consensus on time in range (2019) asks for more than 70% of readings in 70-180 mg/dL, fewer
# than 4% below 70 and fewer than 1% below 54.

# %%
metrics = tl.glucose.glycaemic_metrics(first.cgm_mg_dl)
{name: round(float(value), 1) for name, value in metrics.items()}

# %% [markdown]
# ✏️ **Exercise 1.** Compute the percentage of readings *above 250 mg/dL* with NumPy alone (no twinlab), and check it
# against `tl.glucose.time_above(first.cgm_mg_dl, 250.0)`.

# %% tags=["solution"]
mine = 100.0 * np.mean(first.cgm_mg_dl > 250.0)
print(f"{mine:.1f}% above 250 mg/dL; twinlab: {float(tl.glucose.time_above(first.cgm_mg_dl, 250.0)):.1f}%")

# %% [markdown]
# ✏️ **Exercise 2.** How much carbohydrate did the person eat in the window, and how much bolus insulin did they
# take? (`first.schedule.meals` and `first.schedule.boluses` are lists of `(minute, amount)`.) What is the ratio, in
# grams per unit?

# %% tags=["solution"]
carbs_g = sum(g for _, g in first.schedule.meals)
insulin_u = sum(u for _, u in first.schedule.boluses)
print(f"{carbs_g:.0f} g of carbohydrate, {insulin_u:.1f} U of bolus insulin: {carbs_g / max(insulin_u, 1e-9):.1f} g/U")
