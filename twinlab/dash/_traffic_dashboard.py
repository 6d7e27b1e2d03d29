"""`traffic_dashboard`: the traffic twin's live dashboard; by default a quick demo model on a patch of Los Angeles."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # twinlab.traffic needs the gnn extra; `import twinlab.dash` must not
    from twinlab.traffic import SpeedData, TrafficTwin

__all__ = ["quick_traffic_twin", "traffic_dashboard"]


def quick_traffic_twin(
    data: SpeedData, *, epochs: int = 5, members: int = 2, hidden: int = 8, seed: int = 0
) -> tuple[TrafficTwin, int]:
    """A small graph-GRU ensemble trained in seconds on ``data`` (the usual protocol), as a twin for a demo.

    Args:
        data: the speeds and graph to train on (a patch of a dozen or two sensors keeps it to seconds).
        epochs: training epochs (no more than this; early stopping may end sooner).
        members: ensemble members.
        hidden: state size per sensor.
        seed: seed of the initial weights, shuffles and node dropout.

    Returns:
        ``(twin, split_step)``: the twin and the first step of the test part (the steps it never trained on).
    """
    from twinlab.gnn import TrainConfig
    from twinlab.traffic import TrafficTwin, fit_forecaster, prepare

    prep = prepare(data)
    config = TrainConfig(epochs=epochs, members=members, batch_size=64, patience=epochs, drop_nodes=0.1,
                         learning_rate=1e-2, seed=seed)  # fmt: skip
    model, _ = fit_forecaster(prep, config, hidden=hidden)
    return TrafficTwin(model, data.steps_per_day, prep.protocol.input_steps), prep.split_step


def traffic_dashboard(
    twin: TrafficTwin | None = None,
    data: SpeedData | None = None,
    *,
    sensors: int = 16,
    epochs: int = 5,
    start_step: int | None = None,
    horizon_min: int = 30,
    period_ms: int = 1000,
    seed: int = 0,
) -> Any:
    """The live dashboard of a traffic twin: a `pn.viewable.Viewer` (call ``.servable()`` in an app).

    The test days are replayed one five-minute step per tick into the twin; the network map is coloured by the
    forecast speed, beside a what-if map (sensors lost, a road closed), with one sensor's readings and forecast band
    below. Sensor positions are drawing positions from a seeded force-directed layout of the adjacency
    (`twinlab.dash.spring_layout`): the data set gives no coordinates.

    Args:
        twin: a trained `tl.traffic.TrafficTwin`. None trains a quick demo model at start-up (`quick_traffic_twin`:
            2 members, ``epochs`` epochs, ``sensors`` neighbouring Los Angeles sensors; about 20 s on 2 cores), and
            the dashboard says so.
        data: the speeds to replay, with the sensors the twin knows in its order. None: the Los Angeles loop data
            (`tl.traffic.load_los_loop`), the patch of ``sensors`` sensors when the demo model is trained.
        sensors: the demo patch's size (sensors reached first by a walk of the graph from the first sensor).
        epochs: the demo model's training epochs.
        start_step: the first step replayed; default the start of the test part (the last 20% of the steps).
        horizon_min: the forecast horizon shown first, minutes (15, 30, 45 or 60).
        period_ms: milliseconds between ticks (each delivers one step of readings).
        seed: seed of the demo model and of the layout.

    Returns:
        A `TrafficDashboard`.
    """
    import holoviews as hv
    import panel as pn

    from twinlab.dash._traffic import TrafficDashboard
    from twinlab.dash._traffic_stream import TrafficStream
    from twinlab.traffic import load_los_loop, nearby_sensors

    pn.extension()
    hv.extension("bokeh", logo=False)
    place = ""
    if data is None:
        data, place = load_los_loop(), " Los Angeles"
        if twin is None:
            data = data.subset(nearby_sensors(data.adjacency, sensors))
    default_start = round(0.8 * data.speed_mph.shape[0])  # where `tl.traffic.prepare` starts the test part
    if twin is None:
        twin, default_start = quick_traffic_twin(data, epochs=epochs, seed=seed)
        note = (
            f"model: a quick demo ensemble ({twin.forecaster.members} graph GRUs, {epochs} epochs, "
            f"{len(data.sensor_ids)} sensors) trained at start-up; pass a twin trained longer for real use"
        )
    else:
        note = f"model: the {twin.forecaster.members}-member ensemble passed in"
    stream = TrafficStream(twin, data, start_step=default_start if start_step is None else start_step,
                           horizon_min=horizon_min, seed=seed)  # fmt: skip
    title = f"Traffic twin of {len(data.sensor_ids)}{place} sensors"
    return TrafficDashboard(stream, period_ms=period_ms, note=note, title=title)
