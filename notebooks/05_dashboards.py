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
# # 05 · Build, explore and publish a glucose twin
#
# The same twin three ways: composed in a form (the twin builder, which also writes the code that builds it),
# explored with sliders (the parameter explorer, compiled once) and inspected (parts, parameters with units, the
# convergence gate); then published as a live dashboard: readings arrive, the twin assimilates them, the forecast and
# its credible band are redrawn, and what-if controls (a bolus, a meal, a parameter) redraw a paired forecast.
#
# The widgets need the `dashboards` extra (`pip install "twinlab[dashboards]"`); in a checkout their JavaScript is
# built by `source scripts/venv.sh && build_widgets` (a wheel ships it built).

# %%
import os

import jax

import twinlab as tl

jax.config.update("jax_enable_x64", True)
SMOKE = os.environ.get("TWINLAB_SMOKE") == "1"  # the test suite runs this notebook with small sizes
MINUTES = 240 if SMOKE else 1440

# %% [markdown]
# ## 1. The twin builder
#
# Pick a template ("fixed parameters" or "learn from the data"), a virtual person, the data, the parameters (each
# with its unit and the virtual population's bounds, widened) and press **build**. The twin is then
# `builder.twin`, and `builder.code` holds the Python that builds the same twin again: paste it into a cell to make
# the work reproducible. Here the choice is set from Python, as a person would in the form.

# %%
builder = tl.ui.TwinBuilder("adult#001")
builder.choice = {**builder.choice, "template": "learn", "minutes": MINUTES, "free": ["kp2", "Vmx", "kabs"],
                  "n_particles": 256}
builder

# %%
twin = builder.build()
print(builder.status)
print(builder.code)

# %% [markdown]
# ## 2. Explore the model's parameters
#
# Each slider re-simulates the day and redraws the glucose. The simulation is compiled once when the widget is made;
# a slider move only sends new values, so it never recompiles (`explorer.traces` counts compilations).

# %%
explorer = tl.ui.ParameterExplorer("adult#001", ["Vmx", "kp2", "kabs", "p2u"], minutes=MINUTES)
explorer

# %%
explorer.values = {**explorer.values, "Vmx": explorer.values["Vmx"] * 1.5}  # what a slider move does
print(f"compilations: {explorer.traces}; glucose at the end: {explorer.curve['bg_mg_dl'][-1]:.1f} mg/dL")

# %% [markdown]
# ## 3. Inspect the twin
#
# The inspector shows what the twin is made of, its beliefs about each parameter (median and 90% interval, with
# units) and the gate's verdict. `inspector.show(twin)` refreshes it after the twin learns more.

# %%
inspector = tl.ui.Inspector(twin)
inspector

# %%
for row in tl.ui.describe(twin)["parameters"]:
    print(f"{row['name']:>12}  {row['median']:10.4g}  [{row['lo']:.4g}, {row['hi']:.4g}]  {row['unit']}")

# %% [markdown]
# ## 4. Publish the live dashboard
#
# `tl.dash.dashboard(record)` returns a Panel viewer: the record's first hour starts the twin (the population prior),
# the rest is replayed 15 minutes per tick and assimilated by the particle filter. A real record works the same
# way, e.g. `tl.dash.dashboard(tl.data.real_records("d1namo")["d1namo/1"])`. The population tab shows time in range
# and risk per virtual patient under the basal-bolus baseline.
#
# To publish it, put `tl.dash.dashboard().servable()` in a script or notebook and run `twinlab serve app.py`: it
# listens on 127.0.0.1 only, refuses any other address without authentication (`--basic-auth users.json` or
# `--oauth-provider ...`), sets a fresh cookie secret and accepts websocket connections only from its own address.

# %%
record = tl.dash.simulated_record("adult#001", MINUTES, seed=0)
board = tl.dash.dashboard(record, population=["adult#001", "child#001"] if SMOKE else True)
board.live.value = False  # here the stream is driven by hand; in a served app it ticks every second
board

# %%
for _ in range(4):
    board.tick()
board.bolus.value = 3.0  # a what-if: 3 U now
print(board.status.object)
