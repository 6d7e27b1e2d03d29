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
# # From data to a personal twin · 5 · Forecast, ask what-if, keep the twin
#
# A personal twin earns its name when it answers questions about the person's next hours: where glucose is going,
# and what a decision (a bolus, a snack) would change. We build the twin from notebook 4's fit, forecast, ask
# what-ifs, and save it: the file opens in JupyterLab as a table of its parts and parameters.
#
# **You will learn:** `tl.Twin`, forecasts with bands, paired what-ifs, and saving and reloading a twin.

# %%
import os
from dataclasses import replace

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

import twinlab as tl

jax.config.update("jax_enable_x64", True)
SMOKE = os.environ.get("TWINLAB_SMOKE") == "1"  # the test suite runs this notebook with small sizes
MINUTES = 480 if SMOKE else 1440
N_GRID = 8 if SMOKE else 15

person = tl.data.d1namo_record(1)
day = person.window(0, MINUTES)
model = tl.glucose.UVAPadova()
adult = tl.glucose.patient("adult#001")

# %% [markdown]
# ## The twin
# Notebook 4's grid fit, in one cell, then `tl.Twin.from_params`: the model, the fitted parameters and the
# readings the twin has seen.

# %%
vmx_factors, kabs_factors = np.geomspace(0.03, 3.0, N_GRID), np.geomspace(0.003, 3.0, N_GRID)
fv, fk = (a.ravel() for a in np.meshgrid(vmx_factors, kabs_factors, indexing="ij"))
grid = jax.tree.map(lambda v: jnp.broadcast_to(v, (fv.size, *jnp.shape(v))), adult)
grid = replace(grid, Vmx=adult.Vmx * jnp.asarray(fv), kabs=adult.kabs * jnp.asarray(fk))
bg = np.asarray(tl.glucose.simulate(model, grid, day.schedule, minutes=MINUTES).bg)
best = int(np.argmin(np.mean((bg[:, day.cgm_minute.astype(int)] - day.cgm_mg_dl) ** 2, axis=1)))
fitted = jax.tree.map(lambda v: v[best], grid)
twin = tl.Twin.from_params(model, fitted, day, name="D1NAMO subject 1")
print(f"{twin.name}: Vmx {float(fitted.Vmx):.4f}, kabs {float(fitted.kabs):.4f}; has seen {twin.minutes} minutes")

# %% [markdown]
# ## The next two hours
# The twin simulates ahead from its state at the last minute it has seen, with the meals and insulin of the plan.
# The band of a future *reading* is the sensor's error around the simulated glucose. This twin has one parameter
# set, so its band leaves out how unsure we are about the parameters: notebook `03_personalise`'s Bayesian twin
# includes that.

# %%
after = person.window(MINUTES, MINUTES + 121)
fc = twin.forecast(120, key=jax.random.key(1), plan=after.schedule)
lo, hi = fc.bands(0.9)
fig, ax = plt.subplots(figsize=(9, 3))
ax.plot(day.cgm_minute, day.cgm_mg_dl, ".", color="0.5", ms=3, label="CGM seen")
ax.plot(after.cgm_minute + MINUTES, after.cgm_mg_dl, "k.", ms=4, label="CGM next (unseen)")
ax.fill_between(fc.minute, lo, hi, alpha=0.3, label="90% band of a reading")
ax.plot(fc.minute, fc.median(), label="forecast")
ax.set(xlabel="minute", ylabel="glucose [mg/dL]")
ax.legend(loc="upper left", fontsize=8)
plt.show()

# %% [markdown]
# ## What if?
# The same simulation runs twice, with and without a change; the difference is the effect of the change.

# %%
wi = twin.whatif(120, plan=after.schedule, changed=tl.glucose.Schedule(boluses=[(0, 1.0)]), key=jax.random.key(2))
print(f"1 U more now: glucose in 2 h changes by {np.median(wi.effect[:, -1]):.0f} mg/dL")

# %% [markdown]
# ## Keep the twin
# `twin.save` writes one `.twinlab` file (safetensors; atomic; never pickled). Double-click it in JupyterLab's file
# browser to see its parts and parameters without a kernel.

# %%
path = twin.save("d1namo_1.twinlab")
again = tl.Twin.load(path)
print(f"saved {path.name}: {path.stat().st_size / 1024:.0f} KiB; reloaded: {again.name}, {again.minutes} minutes")

# %% [markdown]
# ✏️ **Exercise 1.** What would a 15 g snack now do? Use `twin.whatif` with
# `changed=tl.glucose.Schedule(meals=[(0, 15.0)])` and report the effect at 30, 60 and 120 minutes.

# %% tags=["solution"]
snack = twin.whatif(120, plan=after.schedule, changed=tl.glucose.Schedule(meals=[(0, 15.0)]), key=jax.random.key(3))
for minute in (30, 60, 120):
    print(f"{minute:3d} min: {np.median(snack.effect[:, minute]):+.0f} mg/dL")

# %% [markdown]
# ✏️ **Exercise 2.** Is the band honest? Count how many of the unseen readings in the next two hours fall inside the
# 90% band. If far fewer than 90% do, what is the band missing?

# %% tags=["solution"]
offset = after.cgm_minute.astype(int)
inside = (after.cgm_mg_dl >= lo[offset]) & (after.cgm_mg_dl <= hi[offset])
print(f"{inside.sum()} of {inside.size} unseen readings inside the 90% band")
# A band that covers far fewer than 90% is too narrow: it counts only the sensor's error, not our uncertainty about
# the person's parameters, their state now, or the meals they will log. A Bayesian twin adds the first two.
