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
# # 04 · A traffic twin: a graph network that forecasts a city's road speeds
#
# Loop detectors on Los Angeles highways report the speed of traffic every five minutes. Nearby sensors move
# together: a jam spreads upstream along the road. A graph neural network can use that: each sensor is a node,
# the links between sensors are edges, and the model passes messages along them.
#
# This notebook: (1) loads the real data (207 sensors, one week of March 2012) with its sensor graph, (2) trains a
# small deep ensemble of graph GRUs and compares it with simple baselines on the usual protocol, (3) replays test
# days through the twin as readings arrive, forecasting with intervals, (4) asks what-ifs: a sensor lost, a
# road closed, and (5) shows it all live on the network in a dashboard. The data are read through `twinlab.datasets`
# (checksummed): set `TWINLAB_DATA_DIR` to the folder holding `tgcn_los_loop/`.

# %%
import os

import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

import twinlab as tl
from twinlab import gnn, traffic

SMOKE = os.environ.get("TWINLAB_SMOKE") == "1"  # the test suite runs this notebook with small sizes

# %% [markdown]
# ## 1 · The data and the graph

# %%
data = traffic.load_los_loop()
print(f"{data.speed_mph.shape[1]} sensors, {data.speed_mph.shape[0]} steps of {data.step_minutes} min")
if SMOKE:  # a connected patch of 12 sensors over three days
    data = data.subset(traffic.nearby_sensors(data.adjacency, 12)).head(864)
prep = traffic.prepare(data)
print(f"windows: train {prep.train.count}, validation {prep.val.count}, test {prep.test.count}")
print(f"graph: {int(prep.graph.n_node[0])} nodes, {int(prep.graph.n_edge[0])} weighted edges (self loops included)")

# %% [markdown]
# ## 2 · Train a deep ensemble and compare it with the baselines
#
# Each member is a GRU whose gates are graph convolutions (T-GCN's idea). The members differ in their initial
# weights and the order they see the windows; their spread, plus a noise level calibrated on the validation days,
# gives the forecast's uncertainty. During training 5% of the sensors are hidden in each window, so the twin
# learns to forecast with sensors missing.
#
# Each sensor reads five numbers per step: its speed, an "observed" flag, the time of day (sine and cosine), and the
# historical average: its mean speed, over the training days, at the time one hour after that step. Over the input
# hour that last feature spells out the usual profile of the hour to forecast, a future the model may know. The table
# comes from the training days only, and for a training window its own day is left out of it, as the test days are.

# %%
config = gnn.TrainConfig(
    epochs=2 if SMOKE else 12, members=2 if SMOKE else 3, batch_size=32, patience=5, drop_nodes=0.05
)
model, result = traffic.fit_forecaster(prep, config, hidden=8 if SMOKE else 32)
print(f"{len(result.history)} epochs, {result.seconds_per_epoch:.1f} s per epoch")

forecast = model.predict_windows(prep.test)
truth = prep.test_truth_mph()
steps = prep.protocol.report_steps
rows = {
    "historical average": traffic.historical_average(prep),
    "last value": traffic.last_value(prep),
    "graph GRU ensemble": np.asarray(forecast.mean_mph),
}
print("model".ljust(20) + "".join(f"{s * 5:>4} min MAE/RMSE  " for s in steps))
for name, pred in rows.items():
    scores = traffic.mae_rmse(pred, truth, steps)
    print(name.ljust(20) + "".join(f"{scores[s][0]:7.2f} /{scores[s][1]:6.2f}  " for s in steps))
for level in (0.8, 0.9, 0.95):
    lo, hi = forecast.interval(level)
    print(f"{level:.0%} interval: covers {traffic.coverage(np.asarray(lo), np.asarray(hi), truth):.1%} of test values")

# %% [markdown]
# ## 3 · Streaming: the twin assimilates readings as they arrive
#
# The twin's state is the last hour of readings. Each new reading moves it one step; after each, the twin forecasts
# the next hour. Here we replay the test days and look at one sensor's 30-minute-ahead forecast with its 90% band.

# %%
twin = traffic.TrafficTwin(model, data.steps_per_day, prep.protocol.input_steps)
speed = data.speed_mph[prep.split_step :]
tod = data.step_of_day()[prep.split_step :]
seen = np.ones_like(speed)
window = twin.start(speed[:12], seen[:12], tod[:12])
replay = twin.replay(window, speed[12:], seen[12:], tod[12:])
sensor, ahead = 0, 6  # 6 steps = 30 minutes
lo, hi = replay.interval(0.9)
t = np.arange(12, speed.shape[0]) + ahead  # the step each forecast is for
keep = t < speed.shape[0]
fig, ax = plt.subplots(figsize=(10, 3.5))
ax.plot(np.arange(speed.shape[0]) * 5 / 60, speed[:, sensor], "k", lw=1, label="measured")
ax.plot(t[keep] * 5 / 60, replay.mean_mph[keep, ahead - 1, sensor], "C0", label="forecast 30 min ahead")
ax.fill_between(
    t[keep] * 5 / 60, lo[keep, ahead - 1, sensor], hi[keep, ahead - 1, sensor], color="C0", alpha=0.25, label="90%"
)
ax.set(xlabel="hours into the test part", ylabel="speed (mph)", title=f"sensor {data.sensor_ids[sensor]}")
ax.legend(loc="lower left")
plt.show()

# %% [markdown]
# ## 4 · What if a sensor is lost, or a road is closed?
#
# A lost sensor's readings are missing from the whole input hour (the twin sees "missing" flags); a closed road is
# a link removed from the graph the model passes messages along. We take the busiest sensor (the most links) at
# the start of the morning rush hour in the test part and compare the forecasts side by side.

# %%
hub = int(np.argmax((data.adjacency > 0).sum(axis=0)))
neighbour = int(np.argsort(np.where(np.arange(len(data.sensor_ids)) == hub, 0.0, data.adjacency[hub]))[-1])
at_seven = np.flatnonzero(tod[11 : 11 + prep.test.count] == 7 * 12)  # windows whose last reading is at 07:00
start = int(at_seven[0]) if at_seven.size else 0
window = gnn.take_batch(prep.test, jnp.asarray([start])).inputs[0]
base, lost = twin.what_if(window, lost_sensors=[hub])
_, closed = twin.what_if(window, closed_roads=[(hub, neighbour)])

minutes = np.arange(1, prep.protocol.horizon_steps + 1) * data.step_minutes
fig, axes = plt.subplots(1, 2, figsize=(11, 3.5), sharey=True)
for ax, node in zip(axes, (hub, neighbour), strict=True):
    for fc, name, colour in ((base, "as is", "C0"), (lost, "sensor lost", "C3"), (closed, "road closed", "C2")):
        a, b = fc.interval(0.9)
        ax.plot(minutes, fc.mean_mph[0, :, node], color=colour, label=name)
        ax.fill_between(minutes, a[0, :, node], b[0, :, node], color=colour, alpha=0.15)
    ax.set(title=f"sensor {data.sensor_ids[node]}", xlabel="minutes ahead")
axes[0].set_ylabel("forecast speed (mph)")
axes[0].legend()
plt.show()
for name, fc in (("as is", base), ("sensor lost", lost), ("road closed", closed)):
    print(f"{name:12s} hub: mean {float(fc.mean_mph[0, :, hub].mean()):.1f} mph, "
          f"90% width {float(2 * 1.645 * fc.std_mph[0, :, hub].mean()):.1f} mph")

# %% [markdown]
# Losing the sensor leaves the twin with only its neighbours' readings for that location: the forecast moves, and
# so does the members' spread, which is how much the ensemble disagrees once that sensor is gone (whether it widens
# or narrows depends on the members and the moment: the printout above shows it for this one). Closing a link
# changes what flows between the two sensors in the model. `benchmarks/bench_traffic.py` runs the full comparison, with a per-sensor GRU without
# the graph as a further baseline; its numbers are in `benchmarks/RESULTS.md`.

# %% [markdown]
# ## 5 · The network live: a dashboard
#
# `tl.dash.traffic_dashboard(twin, data)` draws the sensor network, each sensor coloured by its forecast speed at the
# chosen horizon (15 to 60 minutes), and replays the test days into the twin one five-minute step per tick. The data
# give no coordinates, so the positions come from a seeded force-directed layout of the adjacency. Hover a sensor for
# its last reading, forecast and 90% interval. Mark sensors lost or close a road: the what-if map beside the plan,
# and the selected sensor's second band below, show the twin's answer. The dashboard needs the `dashboards` extra;
# `twinlab serve apps/traffic_dashboard.py` serves it as an app (there with a quick demo model, trained at start-up
# on 16 sensors; pass your own twin, as here, for real use).

# %%
board = tl.dash.traffic_dashboard(twin, data, start_step=prep.split_step)
board.live.value = False  # driven by hand here; in a served app it ticks every second
board

# %%
for _ in range(3):
    board.tick()
board.sensor.value = data.sensor_ids[hub]
board.lost.value = [data.sensor_ids[hub]]  # the what-if: the busiest sensor goes quiet
print(board.status.object)
