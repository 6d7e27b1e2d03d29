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
# # 03 · Personalise a twin: from the population to one person's posterior
#
# The virtual population says how people differ; one person's CGM, meals and insulin say where *they* are. This
# notebook builds a posterior over a few physiological parameters of the UVA/Padova model, checks it with the
# convergence gate (R-hat, effective sample sizes, divergences, E-BFMI), forecasts with credible bands, asks a
# what-if (another bolus), and keeps the twin current as new readings arrive. First a synthetic person whose true
# parameters we know, then a real one (D1NAMO).

# %%
import os

import jax
import matplotlib.pyplot as plt
import numpy as np

import twinlab as tl
from twinlab import bayes

jax.config.update("jax_enable_x64", True)
SMOKE = os.environ.get("TWINLAB_SMOKE") == "1"  # the test suite runs this notebook with small sizes
METHOD = "svi" if SMOKE else "nuts"  # NUTS is the default; SVI is the fast approximation
model = tl.glucose.UVAPadova()

# %% [markdown]
# ## 1 · A synthetic person
# `adult#003` eats three meals and boluses for them; a CGM reads every 5 minutes with 8 mg/dL of noise. We keep the
# first part to learn from and hold the rest out.

# %%
minutes = 480 if SMOKE else 1440
true = tl.glucose.patient("adult#003")
meals = [(m, g) for m, g in [(30, 50.0), (330, 70.0), (780, 60.0)] if m < minutes + 120]
schedule = tl.glucose.Schedule(meals=meals, boluses=[(m, g / 10.0) for m, g in meals])
bg = np.asarray(tl.glucose.simulate(model, true, schedule, minutes=minutes + 120).bg)
t = np.arange(0, minutes + 120, 5)
cgm = bg[t] + np.random.default_rng(0).normal(0.0, 8.0, t.size)
record = tl.glucose.GlucoseRecord(t.astype(float), cgm, schedule, minutes=minutes + 120, subject="adult#003")
fit, held_out = record.split(minutes)
fit.n_readings, held_out.n_readings

# %% [markdown]
# ## 2 · The posterior and the gate
# Free parameters: `Vmx` (insulin-dependent glucose uptake) and `kabs` (gut absorption rate); everything else stays at
# the person's values. The prior is the virtual population's spread (log-normal). `post.ok` is the gate's verdict;
# `post.diagnostics` has its numbers and, when it withholds the posterior, which rule failed.

# %%
post = bayes.personalise(model, fit, ["Vmx", "kabs"], method=METHOD, key=jax.random.key(0), base=true,
                         num_warmup=300, num_samples=300, svi_steps=1500)  # fmt: skip
print(post.diagnostics)
post.summary()

# %%
print({n: float(getattr(true, n)) for n in post.free})  # the truth, for comparison

# %% [markdown]
# ## 3 · Forecast with credible bands, and a what-if
# Each posterior draw is simulated ahead (vmapped). The band of a future *reading* adds the fitted sensor error.
# The what-if runs the same draws with 2 extra units of insulin now: the difference is a paired, per-draw effect.

# %%
fc = bayes.forecast(model, post, fit, horizon_min=120, key=jax.random.key(1), allow_withheld=SMOKE)
lo, hi = fc.bands(0.9)
fig, ax = plt.subplots(figsize=(9, 3.5))
ax.plot(fit.cgm_minute, fit.cgm_mg_dl, ".", ms=3, color="0.5", label="CGM (fitted)")
ax.plot(held_out.cgm_minute + minutes, held_out.cgm_mg_dl, ".", ms=4, color="k", label="CGM (held out)")
ax.fill_between(fc.minute, lo, hi, alpha=0.3, label="90% band of a reading")
ax.plot(fc.minute, fc.median(), label="median forecast")
ax.set(xlabel="minute", ylabel="glucose (mg/dL)")
ax.legend(loc="upper left", fontsize=8)

# %% [markdown]
# How good is the forecast? A proper score rewards a forecast for being both right and honest about its
# uncertainty: the CRPS (mg/dL; a point forecast's CRPS is its absolute error, lower is better) and the log score
# (the log density the forecast gave to what was then read, higher is better).

# %%
crps = fc.crps(held_out.cgm_minute + minutes, held_out.cgm_mg_dl)
log_score = fc.log_score(held_out.cgm_minute + minutes, held_out.cgm_mg_dl)
persistence = np.abs(held_out.cgm_mg_dl - fit.cgm_mg_dl[-1])  # the last reading carried forward
print(f"next 2 h: CRPS {crps.mean():.1f} mg/dL (persistence {persistence.mean():.1f}), log score {log_score.mean():.2f}")

# %%
wi = bayes.whatif(model, post, fit, 120, plan=None, changed=tl.glucose.Schedule(boluses=[(0, 2.0)]),
                  key=jax.random.key(2), allow_withheld=SMOKE)  # fmt: skip
elo, ehi = wi.effect_bands(0.9)
print(f"2 U now changes glucose in 2 h by {np.median(wi.effect[:, -1]):.0f} mg/dL (90%: {elo[-1]:.0f} to {ehi[-1]:.0f})")

# %% [markdown]
# ## 4 · Keep the twin current
# `tl.Twin` holds the model, the posterior and the record. Each new stretch of readings updates the posterior with a
# particle filter: a few simulated minutes per particle, not a refit. The particles' effective sample size is kept.

# %%
twin = tl.Twin(model, post, fit, "adult#003")
for start in range(0, 60, 15):
    twin = twin.assimilate(held_out.window(start, start + 15), key=jax.random.key(10 + start), allow_withheld=SMOKE)
twin.minutes, twin.posterior.extras["ess_at_readings"].round(0)

# %% [markdown]
# ## 5 · A real person (D1NAMO)
# The data set is read through the registry (`$TWINLAB_DATA_DIR`, checksums verified). Meals come as calories: the
# loader estimates carbohydrate with an uncertainty, and the uncertain meals become latent variables of the model.

# %%
people = tl.data.real_records("d1namo")
person = people["d1namo/1"]
day = person.window(0, 480 if SMOKE else 1440)
real_post = bayes.personalise(model, day, ["kp2", "Vmx", "kabs"], method=METHOD, key=jax.random.key(3),
                              num_warmup=300, num_samples=300, svi_steps=1000 if SMOKE else 3000)  # fmt: skip
print(real_post.diagnostics)
real_post.summary()

# %%
real_fc = bayes.forecast(model, real_post, day, 120, key=jax.random.key(4), allow_withheld=True,
                         plan=person.window(day.minutes, day.minutes + 121).schedule)  # fmt: skip
after = person.window(day.minutes, day.minutes + 121)
rlo, rhi = real_fc.bands(0.9)
fig, ax = plt.subplots(figsize=(9, 3.5))
ax.plot(day.cgm_minute, day.cgm_mg_dl, ".", ms=3, color="0.5", label="CGM (fitted)")
ax.plot(after.cgm_minute + day.minutes, after.cgm_mg_dl, ".", ms=4, color="k", label="CGM (next 2 h)")
ax.fill_between(real_fc.minute, rlo, rhi, alpha=0.3, label="90% band of a reading")
ax.plot(real_fc.minute, real_fc.median(), label="median forecast")
ax.set(xlabel="minute", ylabel="glucose (mg/dL)")
ax.legend(loc="upper left", fontsize=8)

# %% [markdown]
# The forecast above starts from each draw's state simulated open-loop through the whole day. A real person strays
# from any model, so after a day those states can lie far from the last readings. `refilter` runs the particle
# filter through the same day instead, and chooses how much model error to allow (the glucose drift) by how well the
# filter predicted each reading from the ones before it (its log evidence). The day's readings then weigh the
# particles a second time, so use the refiltered twin for the state now and for forecasts, and the fit for
# statements about the parameters.

# %%
real_twin = tl.Twin(model, real_post, day)
refiltered, choice = real_twin.refilter(key=jax.random.key(5), allow_withheld=True)
print(choice.table())
for label, t in (("fitted (open loop)", real_twin), ("refiltered", refiltered)):
    now = float(np.median(t.forecast(1, key=jax.random.key(6), allow_withheld=True).bg[:, 0]))
    print(f"{label:>20}: glucose now {now:6.1f} mg/dL; last reading {day.cgm_mg_dl[-1]:.1f}")
