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
# # 01 · A patient twin: simulate, compare, differentiate
#
# A digital twin of a person with type 1 diabetes starts from a mechanistic model of how glucose and insulin move
# through the body: the UVA/Padova 2008 model, with the 30 virtual patients of its academic version. In twinlab the
# model is a JAX function, so the same code simulates one person, a whole cohort at once (`vmap`), and gives exact
# gradients of any outcome with respect to every physiological parameter (`grad`).
#
# This notebook: (1) simulates one patient's day, (2) compares patients and cohorts, (3) asks which parameters a
# day's glucose is most sensitive to, by differentiating through the whole simulation.

# %%
import os

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

import twinlab as tl

jax.config.update("jax_enable_x64", True)
SMOKE = os.environ.get("TWINLAB_SMOKE") == "1"  # the test suite runs this notebook with small sizes
MINUTES = 600 if SMOKE else 1440

# %% [markdown]
# ## 1 · One patient, one day
# A `Schedule` lists meals `(minute, grams of carbohydrate)`, insulin boluses `(minute, units)` and the basal rate
# (`None`: the patient's own steady-state rate). Meals are eaten at most 5 g per minute, as in the reference
# simulator.

# %%
model = tl.glucose.UVAPadova()
adult = tl.glucose.patient("adult#001")
day = tl.glucose.Schedule(
    meals=[(420, 45.0), (540, 10.0)] + ([] if SMOKE else [(720, 70.0), (1080, 80.0)]),
    boluses=[(420, 4.5)] + ([] if SMOKE else [(720, 7.0), (1080, 8.0)]),
)
traj = tl.glucose.simulate(model, adult, day, minutes=MINUTES)
print(f"basal rate {float(adult.basal_u_per_h):.2f} U/h; glucose from {float(traj.bg.min()):.0f} "
      f"to {float(traj.bg.max()):.0f} mg/dL")

fig, ax = plt.subplots(figsize=(8, 3))
ax.plot(np.asarray(traj.t) / 60, traj.bg, label="adult#001")
ax.axhspan(70, 180, color="tab:green", alpha=0.1, label="target range 70-180 mg/dL")
ax.set(xlabel="hour of the day", ylabel="glucose [mg/dL]")
ax.legend()
plt.show()

# %% [markdown]
# `traj.to_pandas()` gives a table with units in the column names; `traj.to_xarray()` a labelled dataset.

# %%
traj.to_pandas().iloc[::120]

# %% [markdown]
# ## 2 · Patients and cohorts
# A population is the same parameter pytree with a leading axis. `simulate` vectorises over it: one compiled
# function runs all 30 virtual patients at once.

# %%
names = tl.glucose.patient_names()
cohort = tl.glucose.patients(names)
trajs = tl.glucose.simulate(model, cohort, day, minutes=MINUTES, names=names)
print(trajs.bg.shape)

fig, ax = plt.subplots(figsize=(8, 3))
hours = np.asarray(trajs.t) / 60
for group, colour in [("adolescent", "tab:blue"), ("adult", "tab:orange"), ("child", "tab:red")]:
    rows = [i for i, n in enumerate(names) if n.startswith(group)]
    bg = np.asarray(trajs.bg)[rows]
    ax.plot(hours, bg.mean(0), color=colour, label=f"{group}s (mean)")
    ax.fill_between(hours, bg.min(0), bg.max(0), color=colour, alpha=0.15)
ax.set(xlabel="hour of the day", ylabel="glucose [mg/dL]", title="The same day, three cohorts (band: range)")
ax.legend()
plt.show()

# %% [markdown]
# Glycaemic metrics for every patient at once: time in range, time below and above, and Kovatchev's risk indices.

# %%
table = tl.glucose.metrics_table(trajs.bg, names=names)
table[["mean_mg_dl", "tir_70_180_percent", "below_70_percent", "above_180_percent", "lbgi", "hbgi"]].round(1)

# %% [markdown]
# The same fixed doses suit the cohorts very differently: children, with far less insulin need, go low on the
# adults' boluses. A personal twin starts here: the right parameters for the right person.

# %% [markdown]
# ## 3 · Which parameters matter? Gradients through a whole day
# `jax.grad` differentiates the day's mean glucose with respect to all 32 parameters and the initial state in one
# backward pass. Scaled as elasticities, $\partial \ln \bar{G} / \partial \ln \theta$, they compare parameters of
# different units: a value of -0.3 means a 10 % larger parameter lowers mean glucose by about 3 %.

# %%
def mean_bg(params):
    return jnp.mean(tl.glucose.simulate(model, params, day, minutes=MINUTES).bg)


grads = jax.grad(mean_bg)(adult)
mean0 = float(mean_bg(adult))
elasticity = {k: float(getattr(grads, k) * getattr(adult, k)) / mean0 for k in tl.glucose.MODEL_FIELDS}
top = sorted(elasticity.items(), key=lambda kv: -abs(kv[1]))[:10]

fig, ax = plt.subplots(figsize=(6, 3))
ax.barh([k for k, _ in top][::-1], [v for _, v in top][::-1])
ax.set(xlabel="elasticity of mean glucose", title="adult#001: the ten most influential parameters")
plt.show()

# %% [markdown]
# A gradient is only worth using if it is right. Central finite differences agree:

# %%
h = 1e-5 * float(adult.Vmx)
fd = (mean_bg(adult.replace(Vmx=adult.Vmx + h)) - mean_bg(adult.replace(Vmx=adult.Vmx - h))) / (2 * h)
print(f"d mean BG / d Vmx: autodiff {float(grads.Vmx):.4f}, finite differences {float(fd):.4f}")
assert abs(float(grads.Vmx) - float(fd)) < 1e-3 * abs(float(fd))

# %% [markdown]
# ## What next
# * Personalise the parameters to one person's data, with uncertainty: `02_personalise`.
# * Close the loop with a controller and a noisy CGM sensor: `tl.glucose.simulate_closed_loop`.
