"""`traffic_dashboard`: the traffic twin's live dashboard; by default a quick demo model on a patch of Los Angeles."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # twinlab.traffic needs the gnn extra; `import twinlab.dash` must not
    from twinlab.traffic import SpeedData, TrafficTwin

__all__ = ["DEMO_HIDDEN", "DEMO_MEMBERS", "quick_traffic_twin", "traffic_dashboard"]

#: The demo model's ensemble size and state size per sensor.
DEMO_MEMBERS = 2
DEMO_HIDDEN = 8


def quick_traffic_twin(
    data: SpeedData,
    *,
    epochs: int = 5,
    seed: int = 0,
    checkpoint: str | os.PathLike[str] | None = None,
    load: bool = False,
) -> tuple[TrafficTwin, int]:
    """The demo twin: a small graph-GRU ensemble (`DEMO_MEMBERS` x `DEMO_HIDDEN`) trained in seconds on ``data``.

    Args:
        data: the speeds and graph (a patch of a dozen or two sensors keeps training to seconds); the usual protocol
            (`tl.traffic.prepare`) splits them.
        epochs: training epochs (no more than this; early stopping may end sooner).
        seed: seed of the initial weights, shuffles and node dropout.
        checkpoint: an ``.npz`` path: where training saves the best states, or with ``load`` where they are read.
        load: read the states from ``checkpoint`` instead of training (`tl.traffic.load_forecaster`).

    Returns:
        ``(twin, split_step)``: the twin and the first step of the test part (the steps it never trained on).
    """
    from twinlab.gnn import TrainConfig
    from twinlab.traffic import TrafficTwin, fit_forecaster, load_forecaster, prepare

    prep = prepare(data)
    if load:
        if checkpoint is None:
            raise ValueError("load=True reads a checkpoint: pass its path as checkpoint=")
        model = load_forecaster(prep, checkpoint, members=DEMO_MEMBERS, hidden=DEMO_HIDDEN)
    else:
        config = TrainConfig(epochs=epochs, members=DEMO_MEMBERS, batch_size=64, patience=epochs, drop_nodes=0.1,
                             learning_rate=1e-2, seed=seed)  # fmt: skip
        model, _ = fit_forecaster(prep, config, hidden=DEMO_HIDDEN, checkpoint=checkpoint)
    return TrafficTwin(model, data.steps_per_day, prep.protocol.input_steps), prep.split_step


def traffic_dashboard(
    twin: TrafficTwin | str | os.PathLike[str] | None = None,
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
        twin: a trained `tl.traffic.TrafficTwin`; or the path of a demo model's checkpoint (saved by
            ``quick_traffic_twin(data, checkpoint=path)``: for other configurations, load it with
            `tl.traffic.load_forecaster` and pass the twin); or None to train the demo model at start-up
            (`quick_traffic_twin`: ``epochs`` epochs on ``sensors`` neighbouring sensors; about half a minute on 2
            cores).
            The dashboard says which.
        data: the speeds to replay, with the sensors the twin knows in its order. None: the Los Angeles loop data
            (`tl.traffic.load_los_loop`), only the patch of ``sensors`` sensors for a demo model.
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
    from twinlab.traffic import TrafficTwin, load_los_loop, nearby_sensors

    pn.extension()
    hv.extension("bokeh", logo=False)
    place = ""
    if data is None:
        data, place = load_los_loop(), " Los Angeles"
        if not isinstance(twin, TrafficTwin):
            data = data.subset(nearby_sensors(data.adjacency, sensors))
    default_start = round(0.8 * data.speed_mph.shape[0])  # where `tl.traffic.prepare` starts the test part
    if twin is None:
        twin, default_start = quick_traffic_twin(data, epochs=epochs, seed=seed)
        note = (
            f"model: a quick demo ensemble ({twin.forecaster.members} graph GRUs, {epochs} epochs, "
            f"{len(data.sensor_ids)} sensors) trained at start-up; pass a twin trained longer for real use"
        )
    elif not isinstance(twin, TrafficTwin):
        path = os.fspath(twin)
        twin, default_start = quick_traffic_twin(data, checkpoint=path, load=True)
        note = f"model: the demo ensemble read from {os.path.basename(path)}"
    else:
        note = f"model: the {twin.forecaster.members}-member ensemble passed in"
    stream = TrafficStream(twin, data, start_step=default_start if start_step is None else start_step,
                           horizon_min=horizon_min, seed=seed)  # fmt: skip
    title = f"Traffic twin of {len(data.sensor_ids)}{place} sensors"
    return TrafficDashboard(stream, period_ms=period_ms, note=note, title=title)
