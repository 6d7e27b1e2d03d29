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
# # From data to a personal twin · 4 · Fit the person's parameters
#
# Notebook 3 showed that `Vmx` (insulin sensitivity) and `kabs` (how fast a meal reaches the blood) move the day and
# differ a lot between people. Now we let the person's readings choose them: simulate the day for a grid of values,
# all at once, and keep the pair whose glucose is closest to the CGM.
#
# **You will learn:** fitting as "find the parameters that make the model agree with the data", the error surface,
# and why a fit must be judged on data it has not seen. (Notebook `03_personalise` does the same the Bayesian way,
# with uncertainty: `tl.Twin.personalise`.)

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
idx = day.cgm_minute.astype(int)

# %% [markdown]
# ## Simulate a grid of candidate people
# Every (Vmx, kabs) pair on a log-spaced grid, from 3% (Vmx) or 0.3% (kabs) to three times the virtual adult's values, as one
# population: one compiled simulation runs them all.

# %%
vmx_factors = np.geomspace(0.03, 3.0, N_GRID)
kabs_factors = np.geomspace(0.003, 3.0, N_GRID)
fv, fk = (a.ravel() for a in np.meshgrid(vmx_factors, kabs_factors, indexing="ij"))
grid = jax.tree.map(lambda v: jnp.broadcast_to(v, (fv.size, *jnp.shape(v))), adult)
grid = replace(grid, Vmx=adult.Vmx * jnp.asarray(fv), kabs=adult.kabs * jnp.asarray(fk))
bg = np.asarray(tl.glucose.simulate(model, grid, day.schedule, minutes=MINUTES).bg)
rmse = np.sqrt(np.mean((bg[:, idx] - day.cgm_mg_dl) ** 2, axis=1)).reshape(N_GRID, N_GRID)
i, j = np.unravel_index(np.argmin(rmse), rmse.shape)
print(f"best: Vmx × {vmx_factors[i]:.2f}, kabs × {kabs_factors[j]:.3f}: RMSE {rmse[i, j]:.1f} mg/dL "
      f"(the virtual adult as is: {rmse[np.argmin(abs(vmx_factors - 1))].min():.1f} at best kabs)")

# %% [markdown]
# ## The error surface
# Dark is good. A long valley means the data cannot tell the two parameters apart well along it.

# %%
fig, ax = plt.subplots(figsize=(5, 4))
mesh = ax.pcolormesh(kabs_factors, vmx_factors, rmse, shading="nearest", cmap="viridis")
ax.plot(kabs_factors[j], vmx_factors[i], "r*", ms=12)
ax.set(xscale="log", yscale="log", xlabel="kabs factor", ylabel="Vmx factor")
fig.colorbar(mesh, label="RMSE [mg/dL]")
plt.show()

# %%
best = jax.tree.map(lambda v: v[i * N_GRID + j], grid)
fig, ax = plt.subplots(figsize=(9, 3))
ax.plot(day.cgm_minute / 60, day.cgm_mg_dl, "k.", ms=3, label="CGM")
ax.plot(np.arange(MINUTES + 1) / 60, np.asarray(tl.glucose.simulate(model, adult, day.schedule, minutes=MINUTES).bg),
        label="virtual adult")  # fmt: skip
ax.plot(np.arange(MINUTES + 1) / 60, bg[i * N_GRID + j], label="fitted")
ax.set(xlabel="hours", ylabel="glucose [mg/dL]")
ax.legend()
plt.show()

# %% [markdown]
# ✏️ **Exercise 1.** How sharply does the data pin `Vmx` down? With `kabs` at its best value, print the RMSE for
# each `Vmx` factor. Over what range of factors is the RMSE within 10% of the best?

# %% tags=["solution"]
row = rmse[:, j]
near = vmx_factors[row <= 1.1 * row.min()]
print(np.round(row, 1))
print(f"within 10% of the best RMSE: Vmx × {near.min():.2f} to {near.max():.2f}")

# %% [markdown]
# ✏️ **Exercise 2.** A fit scored on the data it was fitted to flatters itself. Fit on the first `MINUTES - 120`
# minutes only (the grid's simulations already cover the whole window: score only the readings before that minute)
# and report the RMSE of that choice on the last two hours, next to the best possible RMSE on those two hours.

# %% tags=["solution"]
cut = MINUTES - 120
early, late = idx < cut, idx >= cut
err = bg[:, idx] - day.cgm_mg_dl
fit_rmse = np.sqrt(np.mean(err[:, early] ** 2, axis=1))
test_rmse = np.sqrt(np.mean(err[:, late] ** 2, axis=1))
chosen = int(np.argmin(fit_rmse))
print(f"chosen on the first {cut} min: held-out RMSE {test_rmse[chosen]:.1f} mg/dL; "
      f"best any grid point could do on the held-out part: {test_rmse.min():.1f} mg/dL")
