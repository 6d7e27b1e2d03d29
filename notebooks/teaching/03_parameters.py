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
# # From data to a personal twin · 3 · Which parameters matter?
#
# Personalising a twin means choosing which parameters to learn from a person's data. A good choice moves the
# glucose curve a lot and is poorly known across people. Here we change one parameter at a time and watch the day.
#
# **You will learn:** what a few UVA/Padova parameters do, and to read a parameter's effect off a simulation.

# %%
import os
from dataclasses import replace

import jax
import matplotlib.pyplot as plt
import numpy as np

import twinlab as tl

jax.config.update("jax_enable_x64", True)
SMOKE = os.environ.get("TWINLAB_SMOKE") == "1"  # the test suite runs this notebook with small sizes
MINUTES = 480 if SMOKE else 1440

person = tl.data.d1namo_record(1)
day = person.window(0, MINUTES)
model = tl.glucose.UVAPadova()
adult = tl.glucose.patient("adult#001")


def simulate_with(params):
    """Glucose (mg/dL) at minutes 0..MINUTES of the day for one parameter set."""
    return np.asarray(tl.glucose.simulate(model, params, day.schedule, minutes=MINUTES).bg)


# %% [markdown]
# ## Vmx: how strongly insulin drives glucose into tissue
# Scale it by 0.7, 1 and 1.3 and compare the days. (The same array shapes reuse one compiled simulation.)

# %%
fig, ax = plt.subplots(figsize=(9, 3))
for factor in (0.7, 1.0, 1.3):
    bg = simulate_with(replace(adult, Vmx=adult.Vmx * factor))
    ax.plot(np.arange(MINUTES + 1) / 60, bg, label=f"Vmx × {factor}")
ax.plot(day.cgm_minute / 60, day.cgm_mg_dl, "k.", ms=2, label="CGM")
ax.set(xlabel="hours", ylabel="glucose [mg/dL]")
ax.legend()
plt.show()

# %% [markdown]
# ## How much each parameter moves the day
# The mean glucose of the day when each parameter is 30% higher, against the unchanged adult.

# %%
base_mean = simulate_with(adult).mean()
effects = {}
for name in ("Vmx", "kp2", "kabs", "kp3", "ka1"):
    effects[name] = simulate_with(replace(adult, **{name: getattr(adult, name) * 1.3})).mean() - base_mean
{name: round(float(v), 1) for name, v in sorted(effects.items(), key=lambda kv: -abs(kv[1]))}

# %% [markdown]
# ✏️ **Exercise 1.** `kabs` is the rate at which carbohydrate leaves the gut for the blood. Its effect on the day's
# *mean* is small. Does it change the *peak* after a meal, or its *timing*? Compare the maximum glucose and the hour
# it is reached with `kabs` halved and doubled.

# %% tags=["solution"]
for factor in (0.5, 1.0, 2.0):
    bg = simulate_with(replace(adult, kabs=adult.kabs * factor))
    print(f"kabs × {factor}: peak {bg.max():.0f} mg/dL at hour {np.argmax(bg) / 60:.1f}, mean {bg.mean():.0f}")

# %% [markdown]
# ✏️ **Exercise 2.** How different are people? Compute the ratio of the largest to the smallest `Vmx` across the 30
# virtual patients (`tl.glucose.patients(tl.glucose.patient_names())`). Why does that make `Vmx` a parameter worth
# learning from each person's data?

# %% tags=["solution"]
everyone = tl.glucose.patients(tl.glucose.patient_names())
vmx = np.asarray(everyone.Vmx)
print(f"Vmx ranges over a factor {vmx.max() / vmx.min():.1f} across the cohort: a population value can be far "
      "off for one person, and it moves the curve a lot, so the data should decide it.")
