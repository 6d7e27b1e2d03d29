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
# # From data to a personal twin · 2 · A mechanistic model on the person's own day
#
# A twin needs a model of how glucose, insulin and meals interact. twinlab's is the UVA/Padova 2008 model (13
# states: the gut, plasma and tissue glucose, insulin under the skin and in plasma), with the 30 virtual patients of
# its academic version. Here we feed the model the real person's meals and insulin and compare it with their CGM.
#
# **You will learn:** to simulate a day, and why a model of *somebody* is not yet a model of *this person*.

# %%
import os

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

# %% [markdown]
# ## One virtual adult, fed this person's day
# `simulate` integrates the model minute by minute. The record's schedule holds the meals, boluses and the basal
# rate (D1NAMO's long-acting insulin, spread as an equivalent rate).

# %%
adult = tl.glucose.patient("adult#001")
traj = tl.glucose.simulate(model, adult, day.schedule, minutes=MINUTES)
at_readings = np.asarray(traj.bg)[day.cgm_minute.astype(int)]
rmse = float(np.sqrt(np.mean((at_readings - day.cgm_mg_dl) ** 2)))
fig, ax = plt.subplots(figsize=(9, 3))
ax.plot(day.cgm_minute / 60, day.cgm_mg_dl, ".", ms=3, label="CGM (the person)")
ax.plot(np.asarray(traj.t) / 60, traj.bg, label="adult#001 on the same day")
ax.set(xlabel="hours from the start", ylabel="glucose [mg/dL]", title=f"RMSE {rmse:.0f} mg/dL")
ax.legend()
plt.show()

# %% [markdown]
# ## A whole cohort at once
# Parameters are a pytree; a population is the same pytree with a leading axis, and `simulate` runs all of it in
# one compiled call.

# %%
names = [f"adult#{i:03d}" for i in range(1, 11)]
cohort = tl.glucose.patients(names)
trajs = tl.glucose.simulate(model, cohort, day.schedule, minutes=MINUTES, names=names)
print(trajs.bg.shape, "(patients, minutes)")

# %% [markdown]
# ✏️ **Exercise 1.** Which of the ten virtual adults is closest to the person (smallest RMSE against the CGM
# readings)? Plot it beside the CGM.

# %% tags=["solution"]
bg = np.asarray(trajs.bg)[:, day.cgm_minute.astype(int)]
rmses = np.sqrt(np.mean((bg - day.cgm_mg_dl) ** 2, axis=1))
best = int(np.argmin(rmses))
print(f"closest: {names[best]} (RMSE {rmses[best]:.0f} mg/dL); farthest: {names[int(np.argmax(rmses))]}")
fig, ax = plt.subplots(figsize=(9, 3))
ax.plot(day.cgm_minute / 60, day.cgm_mg_dl, ".", ms=3, label="CGM")
ax.plot(np.asarray(trajs.t) / 60, np.asarray(trajs.bg)[best], label=names[best])
ax.legend()
plt.show()

# %% [markdown]
# ✏️ **Exercise 2.** Even the closest virtual adult misses. Name two reasons a virtual patient fed the right meals
# and insulin can still be far from the person's readings.

# %% [markdown] tags=["solution"]
# *Solution.* The person's physiology differs (insulin sensitivity, absorption speed, body weight: the parameters);
# the logged inputs are uncertain (carbohydrate estimated from calories, forgotten snacks, the time an injection
# acts); the CGM itself is noisy and lags blood glucose; and the model starts from its own steady state, not the
# person's state at minute 0. Personalisation (notebook 4) estimates the first and the last from the data.
