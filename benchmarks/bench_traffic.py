"""Traffic speed forecasting on the Los Angeles loop data: our graph model against the baselines, one run.

Run: ``.venv/bin/python benchmarks/bench_traffic.py [--epochs 12] [--members 3] [--hidden 32] [--loss mae]``.
Protocol: chronological 80/20 split, 12 five-minute steps in, horizons 3/6/9/12 steps (15/30/45/60 min), train-only
normalisation; MAE and RMSE in mph per horizon on the test part. Every row is computed in this run on the same split.

Each runner returns a `Row`. The peer library's row is torch-geometric-temporal's T-GCN on CPU PyTorch
(`traffic_peer_tgcn.py`, installed by ``source scripts/venv.sh && install_traffic_peer``), fed the same `Prepared`
windows and trained with the same settings; ``--skip-peer`` leaves it out. Every learned row, the peer's included, reads
the historical-average speed one horizon ahead as a fifth input feature (`twinlab.traffic.prepare`);
``--no-ha-feature`` leaves it out.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from twinlab import gnn, traffic


@dataclass
class Row:
    name: str
    forecast_mph: np.ndarray  # (W, H, N)
    seconds_per_epoch: float = float("nan")
    epochs: int = 0
    notes: dict[str, float] = field(default_factory=dict)


def run_historical_average(prep: traffic.Prepared, args: argparse.Namespace) -> Row:
    return Row("historical average", traffic.historical_average(prep))


def run_last_value(prep: traffic.Prepared, args: argparse.Namespace) -> Row:
    return Row("last value", traffic.last_value(prep))


def _ours(prep: traffic.Prepared, args: argparse.Namespace, layer: str, name: str) -> Row:
    config = gnn.TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        members=args.members,
        patience=args.patience,
        drop_nodes=args.drop_nodes,
        loss=args.loss,
        learning_rate=args.learning_rate,
        schedule=args.schedule,
        seed=args.seed,
    )
    model, result = traffic.fit_forecaster(
        prep,
        config,
        hidden=args.hidden,
        layer=layer,
        progress=lambda r: print(
            f"  [{name}] epoch {r.epoch}: train {r.train_loss:.4f} val {r.val_loss:.4f} ({r.seconds:.1f} s)", flush=True
        ),
    )
    fc = model.predict_windows(prep.test)
    truth = prep.test_truth_mph()
    notes = {}
    gaussian = fc.replace(interval_scale=None)
    for level in (0.8, 0.9, 0.95):
        lo, hi = fc.interval(level)
        notes[f"coverage {int(level * 100)}%"] = traffic.coverage(np.asarray(lo), np.asarray(hi), truth)
        lo, hi = gaussian.interval(level)
        notes[f"(Gaussian {int(level * 100)}%)"] = traffic.coverage(np.asarray(lo), np.asarray(hi), truth)
    notes["mean 90% width mph"] = float(np.mean(np.diff(np.stack(fc.interval(0.9)), axis=0)))
    return Row(name, np.asarray(fc.mean_mph), result.seconds_per_epoch, len(result.history), notes)


def run_sensor_gru(prep: traffic.Prepared, args: argparse.Namespace) -> Row:
    return _ours(prep, args, "none", "per-sensor GRU (no graph)")


def run_tgcn_peer(prep: traffic.Prepared, args: argparse.Namespace) -> Row:
    try:
        import traffic_peer_tgcn as peer
    except ImportError as err:  # pragma: no cover - depends on the benchmark environment
        raise SystemExit(
            f"the peer row needs torch-geometric-temporal ({err}). Fix: `source scripts/venv.sh && "
            "install_traffic_peer`, or pass --skip-peer"
        ) from err
    print(f"peer versions: {peer.versions()}", flush=True)
    forecast, seconds, epochs = peer.fit_predict(prep, args, log=lambda line: print(line, flush=True))
    return Row("torch-geometric-temporal T-GCN (peer)", forecast, seconds, epochs)


def run_graph_gru(prep: traffic.Prepared, args: argparse.Namespace) -> Row:
    return _ours(prep, args, "gcn", "twinlab graph GRU (GCN gates)")


RUNNERS: list[Callable[[traffic.Prepared, argparse.Namespace], Row]] = [
    run_historical_average,
    run_last_value,
    run_sensor_gru,
    run_tgcn_peer,
    run_graph_gru,
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--members", type=int, default=3, help="ensemble size (both learned models)")
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=3e-3, help="Adam's step size (every learned row)")
    parser.add_argument("--patience", type=int, default=5)
    parser.add_argument("--schedule", choices=gnn.SCHEDULES, default="constant", help="step-size schedule")
    parser.add_argument("--drop-nodes", type=float, default=0.05)
    parser.add_argument("--sensors", type=int, default=207, help="a connected patch of this many sensors")
    parser.add_argument("--loss", choices=gnn.LOSSES, default="mae", help="training loss (normalised units)")
    parser.add_argument(
        "--ha-feature",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the historical-average speed one horizon ahead as a fifth input feature (every learned row)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--torch-threads", type=int, default=1, help="PyTorch threads of the peer row")
    parser.add_argument("--skip-peer", action="store_true", help="leave out the torch-geometric-temporal row")
    parser.add_argument("--only", nargs="*", default=None, help="run only these runners (function names)")
    args = parser.parse_args()
    runners = [r for r in RUNNERS if not (args.skip_peer and r is run_tgcn_peer)]
    if args.only:
        unknown = set(args.only) - {r.__name__ for r in RUNNERS}
        if unknown:
            raise SystemExit(f"unknown runners {sorted(unknown)}; choose from {[r.__name__ for r in RUNNERS]}")
        runners = [r for r in runners if r.__name__ in args.only]

    import jax

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, jax {jax.__version__} on {jax.default_backend()}")
    data = traffic.load_los_loop()
    if args.sensors < data.speed_mph.shape[1]:
        data = data.subset(traffic.nearby_sensors(data.adjacency, args.sensors))
    prep = traffic.prepare(data, ha_feature=args.ha_feature)
    print(
        f"sensors {data.speed_mph.shape[1]}, windows train/val/test {prep.train.count}/{prep.val.count}/"
        f"{prep.test.count}, {prep.n_features} features; {vars(args)}"
    )
    truth = prep.test_truth_mph()
    steps = prep.protocol.report_steps
    rows = []
    for runner in runners:
        start = time.perf_counter()
        row = runner(prep, args)
        print(f"{row.name}: {time.perf_counter() - start:.1f} s in all", flush=True)
        rows.append(row)

    header = " | ".join(f"{s * 5} min MAE / RMSE" for s in steps)
    print(f"\n| model | {header} | s/epoch | epochs |")
    print("|---|" + "---:|" * (len(steps) + 2))
    scores = {}
    for row in rows:
        scores[row.name] = traffic.mae_rmse(row.forecast_mph, truth, steps)
        cells = " | ".join(f"{scores[row.name][s][0]:.3f} / {scores[row.name][s][1]:.3f}" for s in steps)
        spe = f"{row.seconds_per_epoch:.1f}" if row.epochs else "-"
        print(f"| {row.name} | {cells} | {spe} | {row.epochs or '-'} |")
    for row in rows:
        if row.notes:
            print(f"{row.name}: " + ", ".join(f"{k} {v:.3f}" for k, v in row.notes.items()))
    if run_graph_gru in runners:
        ours = rows[runners.index(run_graph_gru)]
        others = [r for r in rows if r is not ours]
        wins = all(scores[ours.name][s][i] < scores[r.name][s][i] for r in others for s in steps for i in (0, 1))
        print(f"\n{ours.name} beats every other row at every horizon on MAE and RMSE: {wins}")


if __name__ == "__main__":
    main()
