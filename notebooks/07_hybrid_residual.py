# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 07 · A hybrid twin: a graph network corrects the mechanistic model
#
# A mechanistic model is wrong for a person in ways its equations cannot express. The UVA/Padova model has no
# exercise: its glucose does not fall when the person goes for a run. Here a small graph neural network, passing
# messages over the model's own compartments, learns the missing part from CGM data, while two of the person's
# physiological parameters are fitted in the same gradient steps, differentiating through the whole simulation.
#
# The "reality" is synthetic, so that the answer is known: the UVA/Padova model extended with a heart-rate driven
# exercise effect (after Breton 2008; see `tl.glucose.ExerciseUVAPadova`). The twins see the heart rate; the base
# model ignores it, the hybrid can use it. We compare their forecasts on held-out days whose exercise sessions come
# at times no training day had, and on a held-out day without exercise.

# %%
import os

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

import twinlab as tl
from twinlab import hybrid

jax.config.update("jax_enable_x64", True)
SMOKE = os.environ.get("TWINLAB_SMOKE") == "1"  # the test suite runs this notebook with small sizes
TRAIN_DAYS = 2 if SMOKE else 4
STEPS = 20 if SMOKE else 300

# %% [markdown]
# ## 1 · The reality the model lacks
# An exercise session raises glucose uptake at once (a state `Y` following the heart rate) and insulin action for
# hours (a slow state `Z`). The same day with and without 45 minutes at 120 bpm:

# %%
patient = tl.glucose.patient("adult#001")
truth = tl.glucose.ExerciseParams.default(patient)
schedule = tl.glucose.Schedule(meals=[(420, 50.0), (750, 70.0)], boluses=[(420, 5.0), (750, 7.0)])
glucose = tl.glucose.schedule_inputs(patient, *(jnp.asarray(a) for a in schedule.arrays(1440)))
fig, ax = plt.subplots(figsize=(9, 3))
for sessions, label in [([], "rest day"), ([(600, 45, 120.0)], "45 min at 120 bpm from 10:00")]:
    hr = tl.glucose.heart_rate_series(1440, sessions)
    inputs = tl.glucose.exercise_inputs(glucose.cho_g, glucose.insulin_u_per_min, hr)  # checked series
    traj = tl.sim.simulate(tl.glucose.ExerciseUVAPadova(), truth, inputs, solver=tl.glucose.DEFAULT_SOLVER)
    ax.plot(np.asarray(traj.t) / 60, np.asarray(traj.bg), label=label)
ax.axvspan(10, 10.75, color="orange", alpha=0.2)
ax.set(xlabel="hour", ylabel="glucose (mg/dL)")
ax.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 2 · The data: training days and held-out days
# `exercise_study` simulates the person's days (three meals with boluses each), with CGM readings carrying Gaussian
# noise (SD 6 mg/dL). The first training day is a rest day; the held-out days have sessions at 16:40 and 09:00 and
# one has none.

# %%
study = hybrid.exercise_study(patient, train_days=TRAIN_DAYS)
fig, axes = plt.subplots(2, 1, figsize=(9, 5), sharex=True)
for ax, days, title in [(axes[0], study.train, "training days"), (axes[1], study.held_out, "held-out days")]:
    for d in range(days.bg_mg_dl.shape[0]):
        (line,) = ax.plot(np.arange(1441)[::5] / 60, np.asarray(days.cgm_mg_dl[d, ::5]), ".", ms=2)
        active = np.asarray(days.inputs.heart_rate_bpm[d]) > 60
        ax.fill_between(np.arange(1440) / 60, 40, 40 + 20 * active, color=line.get_color(), alpha=0.4, step="post")
    ax.set(title=title + " (CGM; bars: exercise)", ylabel="mg/dL")
axes[1].set_xlabel("hour")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 3 · The hybrid: the model's vector field plus a network over its compartments
# Each state of the model is a node (stomach, gut, plasma and tissue glucose, insulin depots, insulin actions), and
# each mass flow or signal of the equations is an edge. Two more nodes carry the heart rate above rest, filtered
# over 10 and 180 minutes (a generic memory of recent effort). The network reads every node's deviation from the
# basal state and adds a correction to d/dt of plasma glucose, tissue glucose and insulin action. Its read-out
# starts at zero, so a new hybrid *is* the base model.

# %%
model, params = hybrid.init_hybrid(patient.replace(Vm0=patient.Vm0 * 0.8, Vmx=patient.Vmx * 1.25))
base = model.replace(use_residual=False)  # the same model without the network: the mechanistic twin
adj = hybrid.compartment_adjacency()
fig, ax = plt.subplots(figsize=(5, 5))
ax.imshow(adj > 0, cmap="Greys")
ax.set_xticks(range(15), hybrid.NODE_NAMES, rotation=90)
ax.set_yticks(range(15), hybrid.NODE_NAMES)
ax.set_title("compartment graph (row receives from column)")
plt.show()
print("links:", len(hybrid.LINKS), "| network weights:", sum(v.size for v in jax.tree.leaves(params.net)))

# %% [markdown]
# Both twins start from the same misspecified patient (insulin-independent uptake `Vm0` 20 % low, insulin action
# `Vmx` 25 % high), as if taken from a population. Training: 60-minute forecasts from known start states, the CGM
# readings as targets, Adam steps on random batches of windows. The base twin fits `Vm0` and `Vmx`; the hybrid fits
# `Vm0`, `Vmx` and the network's weights in the same gradient, through every RK4 step of the simulation.

# %%
train = hybrid.windows(study.train, model, hr_rest_bpm=60.0, horizon_min=60, every_min=15)
test = hybrid.windows(study.held_out, model, hr_rest_bpm=60.0, horizon_min=120, every_min=30)
fit_base = hybrid.fit(base, params, train, steps=STEPS, learning_rate=2e-2)
fit_hybrid = hybrid.fit(model, params, train, steps=STEPS, learning_rate=3e-3)
fig, ax = plt.subplots(figsize=(7, 3))
for name, result in [("base model", fit_base), ("hybrid", fit_hybrid)]:
    ax.plot(np.sqrt(result.losses) * hybrid.LOSS_SCALE_MG_DL, label=f"{name} ({result.seconds:.0f} s)")
ax.axhline(6.0, color="grey", ls=":", label="CGM noise SD")
ax.set(xlabel="Adam step", ylabel="training RMSE vs CGM (mg/dL)")
ax.legend()
plt.tight_layout()
plt.show()
for name, result in [("base model", fit_base), ("hybrid", fit_hybrid)]:
    p = result.params.patient
    print(f"{name}: Vm0 x {float(p.Vm0 / patient.Vm0):.2f}, Vmx x {float(p.Vmx / patient.Vmx):.2f} of the truth")

# %% [markdown]
# ## 4 · Held-out forecasts
# Two-hour forecasts from every 30th minute of the held-out days, scored against the true glucose.

# %%
day = np.asarray(test.day)
scores = {
    "prior (unfitted)": hybrid.forecast_rmse(base, params, test),
    "base model, fitted": hybrid.forecast_rmse(base, fit_base.params, test),
    "hybrid, fitted": hybrid.forecast_rmse(model, fit_hybrid.params, test),
}
print(f"{'twin':20s} {'exercise days':>14s} {'rest day':>9s}   (RMSE, mg/dL)")
for name, r in scores.items():
    print(f"{name:20s} {np.sqrt(np.mean(r[day < 2] ** 2)):14.2f} {np.sqrt(np.mean(r[day == 2] ** 2)):9.2f}")

# %% [markdown]
# Forecasts started just before and during the held-out afternoon session (16:40-17:30):

# %%
fig, axes = plt.subplots(1, 3, figsize=(12, 3), sharey=True)
for ax, start in zip(axes, [960, 1020, 1080], strict=True):
    k = int(np.flatnonzero((day == 0) & (np.asarray(test.start_min) == start))[0])
    one = test.take(jnp.asarray([k]))
    t = (start + np.arange(121)) / 60
    ax.plot(t, np.asarray(one.bg_mg_dl[0]), "k", label="truth")
    ax.plot(t[5::5], np.asarray(one.cgm_mg_dl[0]), "k.", ms=3, label="CGM")
    ax.plot(t, np.asarray(hybrid.forecast_bg(base, fit_base.params, one)[0]), label="base model")
    ax.plot(t, np.asarray(hybrid.forecast_bg(model, fit_hybrid.params, one)[0]), label="hybrid")
    ax.axvspan(1000 / 60, 1050 / 60, color="orange", alpha=0.2)
    ax.set(xlabel="hour", title=f"from {start // 60}:{start % 60:02d}")
axes[0].set_ylabel("glucose (mg/dL)")
axes[0].legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 5 · What the network learned
# The corrections it adds to plasma and tissue glucose along the held-out exercise day, simulated from midnight.
# Only their combined effect on the CGM is constrained by the data, so read them together: a steady offset at rest
# (the network also absorbs part of the parameters' misfit), a sharp extra uptake during the session, and a slow
# return over the following hours, the lasting effect the base model has no way to express.

# %%
inputs = jax.tree.map(lambda a: a[0], study.held_out.inputs)
traj = tl.sim.simulate(model, fit_hybrid.params, inputs)
correction = np.asarray(jax.vmap(lambda x: model.residual(x, fit_hybrid.params))(traj.x))
fig, ax = plt.subplots(figsize=(9, 3))
for name in ["Gp", "Gt"]:
    ax.plot(np.asarray(traj.t) / 60, correction[:, hybrid.NODE_NAMES.index(name)], label=name)
ax.axvspan(1000 / 60, 1050 / 60, color="orange", alpha=0.2)
ax.set(xlabel="hour", ylabel="learned correction (mg/kg/min)")
ax.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Limits
# The reality here is synthetic and the start state of each forecast is the true one: this isolates the model's
# error from state estimation. With real data the start state comes from a filter (`Twin.assimilate`), the exercise
# input from a heart-rate monitor, and the learned part needs many more days, a held-out check like this one, and
# the judgement that what it learned is physiology rather than a quirk of the training days.
