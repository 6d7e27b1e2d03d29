"""The traffic dashboard's core (replay, forecasts, what-ifs, the layout) and its Panel view, without a browser."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from twinlab import traffic
from twinlab.dash import TrafficStream, quick_traffic_twin, spring_layout
from twinlab.datasets import DataFileError


@pytest.fixture(scope="module")
def patch() -> traffic.SpeedData:
    """12 neighbouring Los Angeles sensors over the whole week."""
    try:
        los = traffic.load_los_loop()
    except DataFileError as err:
        if os.environ.get("TWINLAB_REQUIRE_DATA") == "1":
            pytest.fail(f"TWINLAB_REQUIRE_DATA=1 but the LA loop data are not available: {err}")
        pytest.skip("real data sets not available: set TWINLAB_DATA_DIR to a folder holding them")
    return los.subset(traffic.nearby_sensors(los.adjacency, 12))


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ckpt") / "demo.npz"


@pytest.fixture(scope="module")
def trained(patch: traffic.SpeedData, checkpoint: Path) -> tuple[traffic.TrafficTwin, int]:
    return quick_traffic_twin(patch, epochs=2, seed=0, checkpoint=checkpoint)


@pytest.fixture
def stream(patch: traffic.SpeedData, trained: tuple[traffic.TrafficTwin, int]) -> TrafficStream:
    twin, split = trained
    return TrafficStream(twin, patch, start_step=split, horizon_min=30)


def test_the_layout_is_seeded_and_keeps_linked_sensors_close() -> None:
    rng = np.random.default_rng(1)
    adj = (rng.uniform(size=(20, 20)) < 0.15).astype(float)
    adj = np.maximum(adj, adj.T)
    pos = spring_layout(adj, seed=3)
    np.testing.assert_array_equal(pos, spring_layout(adj, seed=3))
    assert not np.allclose(pos, spring_layout(adj, seed=4))
    assert pos.shape == (20, 2) and pos.min() == 0.0 and pos.max() == 1.0
    dist = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
    linked = (adj > 0) & ~np.eye(20, dtype=bool)
    unlinked = (adj == 0) & ~np.eye(20, dtype=bool)
    assert dist[linked].mean() < 0.7 * dist[unlinked].mean()
    with pytest.raises(ValueError, match="non-negative"):
        spring_layout(-adj)


@pytest.mark.slow
def test_the_replay_assimilates_one_step_per_call(stream: TrafficStream, patch: traffic.SpeedData) -> None:
    first = stream.sensor_ids[0]
    before = stream.forecast()
    n0 = len(stream.readings(first))
    # The test part starts at step 1613 (day 6, 14:25): the latest reading is the window's last, at 14:20.
    assert n0 == stream.twin.input_steps and stream.clock() == "day 6 14:20"
    speed = stream.step()
    np.testing.assert_array_equal(speed, patch.speed_mph[stream.start_step])
    assert stream.steps == 1 and stream.cursor == stream.start_step + 1 and stream.clock() == "day 6 14:25"
    readings = stream.readings(first)
    assert len(readings) == n0 + 1 and readings["speed_mph"].iloc[-1] == speed[0]
    after = stream.forecast()
    assert after is stream.forecast()  # one forecast per step
    assert float(np.max(np.abs(np.asarray(after.mean_mph) - np.asarray(before.mean_mph)))) > 1e-3
    band = stream.band(first, after)
    np.testing.assert_allclose(np.diff(band["hour"]), 5 / 60)
    assert band["hour"].iloc[0] == readings["hour"].iloc[-1] + 5 / 60 and np.all(band["lo_mph"] < band["hi_mph"])
    end = TrafficStream(stream.twin, patch, start_step=patch.speed_mph.shape[0] - 1)
    end.step()
    assert end.done
    with pytest.raises(StopIteration):
        end.step()


@pytest.mark.slow
def test_a_lost_sensor_or_closed_road_changes_the_what_if_there(stream: TrafficStream) -> None:
    stream.step()
    assert stream.what_if() is None
    calm = stream.network(30)
    np.testing.assert_array_equal(calm["what_if_mph"], calm["plan_mph"])  # nothing changed: the plan twice
    sensor = stream.sensor_ids[3]
    lost = stream.network(30, lost=[sensor])
    assert lost["lost"].tolist() == [i == 3 for i in range(12)]
    np.testing.assert_array_equal(lost["plan_mph"], calm["plan_mph"])  # the plan stays put
    plan_band = stream.band(sensor, stream.forecast())
    lost_band = stream.band(sensor, stream.what_if(lost=[sensor]))
    assert float(np.max(np.abs(lost_band["mean_mph"] - plan_band["mean_mph"]))) > 0.01
    a, b = stream.roads[0]
    closed = stream.band(b, stream.what_if(closed=[(b, a)]))  # either order names the road
    assert float(np.max(np.abs(closed["mean_mph"] - stream.band(b, stream.forecast())["mean_mph"]))) > 1e-4


@pytest.mark.slow
def test_bad_choices_are_refused_with_the_fix(stream: TrafficStream, patch: traffic.SpeedData) -> None:
    with pytest.raises(ValueError, match=r"unknown sensor id 'nope'.*pick one of `stream.sensor_ids`"):
        stream.network(30, lost=["nope"])
    adj = patch.adjacency
    i, j = next((i, j) for i in range(12) for j in range(i + 1, 12) if adj[i, j] == 0)
    ids = patch.sensor_ids
    with pytest.raises(ValueError, match=rf"no road links sensors '{ids[i]}' and '{ids[j]}'.*`stream.roads`"):
        stream.what_if(closed=[(ids[i], ids[j])])
    with pytest.raises(ValueError, match=r"horizon of 20 min is not offered.*choose one of \(15, 30, 45, 60\)"):
        stream.network(20)
    with pytest.raises(ValueError, match="not offered"):
        TrafficStream(stream.twin, patch, start_step=1000, horizon_min=90)
    with pytest.raises(ValueError, match="knows 12 sensors but the data have 11"):
        TrafficStream(stream.twin, patch.subset(list(range(11))), start_step=1000)
    with pytest.raises(ValueError, match="start_step"):
        TrafficStream(stream.twin, patch, start_step=5)


@pytest.mark.slow
def test_the_panel_view_replays_and_draws_the_what_if(stream: TrafficStream) -> None:
    from twinlab.dash import TrafficDashboard, traffic_dashboard

    dash = TrafficDashboard(stream, period_ms=500, note="model: a test model")
    dash.live.value = False  # driven by hand here; the periodic callback is the browser tests' business
    assert dash.tick() and dash.tick()
    assert dash.status.object.startswith("readings: **2** · day 6 14:30 · sensor **773869**")
    assert "what-if" not in dash.status.object and dash.horizon.options == {"15 min": 15, "30 min": 30,
                                                                            "45 min": 45, "60 min": 60}  # fmt: skip
    sensor = stream.sensor_ids[3]
    dash.sensor.value = sensor
    dash.lost.value = [sensor]
    assert f"sensor **{sensor}**" in dash.status.object and "what-if (1 lost, 0 closed)" in dash.status.object
    net = dash.network.data
    assert net["nodes"]["lost"].sum() == 1 and net["selected"] == sensor and len(net["roads"]) == len(stream.roads)
    assert len(dash.changed.data) == len(dash.planned.data) == 12
    dash.road.value = dash.road.options[1]
    assert "what-if (1 lost, 1 closed)" in dash.status.object and len(dash.network.data["closed"]) == 1
    dash.horizon.value = 60
    assert "forecast in 60 min" in dash.status.object and dash.network.data["horizon_min"] == 60
    view = dash.__panel__()
    assert view[0].object == "## Traffic twin" and view[1].object == "model: a test model"
    view.get_root()  # builds the Bokeh models: the plots' options are all valid
    with pytest.raises(ValueError, match="period_ms"):
        TrafficDashboard(stream, period_ms=10)
    passed = traffic_dashboard(stream.twin, stream.data, start_step=stream.start_step, horizon_min=15)
    assert passed.note == "model: the 2-member ensemble passed in" and "forecast in 15 min" in passed.status.object
    assert passed.title == "Traffic twin of 12 sensors"


@pytest.mark.slow
def test_tapping_a_sensor_on_either_map_selects_it_and_empty_space_changes_nothing(stream: TrafficStream) -> None:
    from twinlab.dash import TrafficDashboard
    from twinlab.dash._map_pick import TAP_RADIUS

    dash = TrafficDashboard(stream, period_ms=500)
    dash.live.value = False
    ids, pos = stream.sensor_ids, stream.positions
    assert dash.sensor.value == ids[0]
    status, planned, redraws = dash.status.object, dash.planned.data, dash.redraws
    # The point of the map (its padding included) farthest from every sensor: empty space.
    grid = np.stack(np.meshgrid(np.linspace(-0.08, 1.08, 59), np.linspace(-0.08, 1.08, 59)), -1).reshape(-1, 2)
    gap = np.linalg.norm(grid[:, None] - pos[None], axis=-1).min(axis=1)
    assert gap.max() > TAP_RADIUS
    for taps in dash.taps:
        taps.event(x=float(grid[gap.argmax(), 0]), y=float(grid[gap.argmax(), 1]))
    assert dash.sensor.value == ids[0] and dash.status.object == status and dash.redraws == redraws
    x, y = pos[5] + 0.4 * TAP_RADIUS * np.array([0.6, -0.8])  # on the marker, off its centre
    dash.taps[1].event(x=float(x), y=float(y))  # the what-if map
    assert dash.sensor.value == ids[5] and dash.network.data["selected"] == ids[5] and dash.redraws == redraws + 1
    assert f"sensor **{ids[5]}**" in dash.status.object and f"sensor **{ids[0]}**" not in dash.status.object
    assert not np.allclose(dash.planned.data["mean_mph"], planned["mean_mph"])  # the plot shows sensor 5's forecast
    np.testing.assert_array_equal(dash.planned.data["mean_mph"], stream.band(ids[5], stream.forecast())["mean_mph"])
    np.testing.assert_array_equal(dash.readings.data["speed_mph"], stream.readings(ids[5])["speed_mph"])
    dash.taps[0].event(x=float(pos[2, 0]), y=float(pos[2, 1]))  # the forecast map
    assert dash.sensor.value == ids[2] and f"sensor **{ids[2]}**" in dash.status.object
    dash.taps[0].event(x=None, y=None)  # the stream's reset value: no tap
    assert dash.sensor.value == ids[2]


@pytest.mark.slow
def test_the_maps_hover_and_a_checkpoint_reloads_the_same_twin(stream: TrafficStream, checkpoint: Path) -> None:
    import holoviews as hv
    from bokeh.models import HoverTool

    from twinlab.dash import traffic_dashboard
    from twinlab.dash._traffic import _map, _segments

    data = {"nodes": stream.network(30, lost=[stream.sensor_ids[0]]), "roads": _segments(stream, list(stream.roads)),
            "closed": _segments(stream, []), "selected": stream.sensor_ids[0], "horizon_min": 30}  # fmt: skip
    figure = hv.render(_map(data, "what_if", "what-if"), backend="bokeh")
    hover = [t for t in figure.tools if isinstance(t, HoverTool)]
    assert len(hover) == 1 and [name for name, _ in hover[0].tooltips] == [
        "sensor", "last reading", "forecast", "90% interval", "state"
    ]  # fmt: skip
    loaded = traffic_dashboard(checkpoint, stream.data)  # the demo model, read instead of trained
    assert loaded.note == "model: the demo ensemble read from demo.npz"
    assert loaded.stream.start_step == stream.start_step
    np.testing.assert_allclose(loaded.stream.forecast().mean_mph, stream.forecast().mean_mph, rtol=1e-5)
    np.testing.assert_allclose(loaded.stream.forecast().std_mph, stream.forecast().std_mph, rtol=1e-4)
    with pytest.raises(ValueError, match="checkpoint="):
        quick_traffic_twin(stream.data, load=True)
