"""The peer row of `bench_traffic.py`: torch-geometric-temporal's T-GCN cell (CPU PyTorch) on the same windows.

T-GCN (Zhao et al. 2019, IEEE T-ITS) was published on these very Los Angeles loop data. The cell is the library's
``TGCN2`` (the batched T-GCN: GCN-gated GRU, GCNConv from PyTorch Geometric); around it the usual encoder-decoder of
that paper: the cell reads the 12 input steps, a linear layer maps the last hidden state of each sensor to the 12
future steps. Trained like ours: same windows, features and normalisation, Adam with the same step size
(``--learning-rate``), gradient-norm clip 1.0, the same loss, batch size, epochs, patience and validation-based
early stopping, one model per ensemble member (members differ in seed and shuffle) averaged.

Install (a benchmark-only environment; not needed by twinlab or its tests)::

    source scripts/venv.sh && install_traffic_peer

The versions are pinned there and in pyproject's ``peers-traffic`` extra. torch-geometric-temporal 0.56.2 declares
torch-scatter and torch-sparse, which PyPI ships only as sources: the installer compiles them against the installed
torch (about 10 and 30 minutes on two cores). Only the package's top-level import needs torch-sparse (for EvolveGCNO);
without it, `load_tgcn2` reads the installed ``nn/recurrent/temporalgcn.py`` unchanged and says so.

Threads: ``--torch-threads`` (default 1). On the 2-core machine of the recorded runs, one batch took 1.2 s with one
thread and 2.8-10 s with two while another process used a core (OpenMP workers wait on the busy core).
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

PEER_PACKAGES = ("torch", "torch-geometric", "torch-scatter", "torch-sparse", "torch-geometric-temporal")


def _windows_numpy(windows) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    return (
        np.asarray(windows.features, np.float32),
        np.asarray(windows.target, np.float32),
        np.asarray(windows.starts, np.int64),
        int(windows.input_steps),
        int(windows.horizon_steps),
    )


def _gather(features, target, starts, t_in, h):
    """(B,) starts -> inputs (B, T_in, N, F), targets (B, H, N)."""
    idx_in = starts[:, None] + np.arange(t_in)
    idx_out = starts[:, None] + t_in + np.arange(h)
    return features[idx_in], target[idx_out]


def load_tgcn2(log=print):
    """torch-geometric-temporal's ``TGCN2`` class, from the package or, without torch-sparse, from its module file."""
    try:
        from torch_geometric_temporal.nn.recurrent import TGCN2
    except ModuleNotFoundError as err:
        if err.name != "torch_sparse":
            raise
        import importlib.util
        from importlib.metadata import distribution

        dist = distribution("torch-geometric-temporal")
        path = dist.locate_file("torch_geometric_temporal/nn/recurrent/temporalgcn.py")
        spec = importlib.util.spec_from_file_location("torch_geometric_temporal_temporalgcn", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        log(f"torch-sparse is not installed: TGCN2 loaded from {path} (the package's own file, unchanged)")
        return module.TGCN2
    return TGCN2


def fit_predict(prep, args: argparse.Namespace, log=print) -> tuple[np.ndarray, float, int]:
    """Train ``args.members`` T-GCN models on ``prep``; returns (test forecast (W, H, N) mph, s/epoch, epochs)."""
    import torch

    TGCN2 = load_tgcn2(log)
    torch.set_num_threads(args.torch_threads)
    adjacency = np.asarray(prep.data.adjacency, np.float64)
    np.fill_diagonal(adjacency, 0.0)  # GCNConv adds the self loops itself (A + I, symmetric normalisation)
    src, dst = np.nonzero(adjacency)
    edge_index = torch.as_tensor(np.stack([src, dst]), dtype=torch.long)
    edge_weight = torch.as_tensor(adjacency[src, dst], dtype=torch.float32)

    class Seq2One(torch.nn.Module):
        def __init__(self, features: int, hidden: int, horizon: int):
            super().__init__()
            self.cell = TGCN2(features, hidden, batch_size=args.batch_size)
            self.head = torch.nn.Linear(hidden, horizon)

        def forward(self, x):  # (B, T_in, N, F) -> (B, H, N)
            h = None
            for t in range(x.shape[1]):
                h = self.cell(x[:, t], edge_index, edge_weight, h)
            return self.head(h).transpose(1, 2)

    tr = _windows_numpy(prep.train)
    va = _windows_numpy(prep.val)
    te = _windows_numpy(prep.test)
    n_features, horizon = tr[0].shape[-1], tr[4]

    def per_value(err):  # the same losses as twinlab.gnn.TrainConfig.loss
        return {"mae": err.abs(), "mse": err**2, "mae+mse": err.abs() + err**2}[args.loss]

    def loss_fn(pred, target):
        return per_value(pred - target).mean()

    def predict(model, w) -> np.ndarray:
        out = []
        model.eval()
        with torch.no_grad():
            for lo in range(0, len(w[2]), 64):
                x, _ = _gather(w[0], w[1], w[2][lo : lo + 64], w[3], w[4])
                out.append(model(torch.from_numpy(x)).numpy())
        return np.concatenate(out)

    def val_loss(model) -> float:
        pred = predict(model, va)
        _, y = _gather(va[0], va[1], va[2], va[3], va[4])
        return float(per_value(torch.from_numpy(pred - y)).mean())

    steps = args.epochs * (len(tr[2]) // args.batch_size)

    def step_size_factor(k: int) -> float:
        """The step sizes of twinlab.gnn.TrainConfig.schedule (optax.cosine_decay_schedule, alpha 0.05)."""
        if args.schedule == "constant":
            return 1.0
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(k, steps) / steps))

    forecasts, epoch_seconds, epochs_run = [], [], 0
    for member in range(args.members):
        seed = args.seed + member
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        model = Seq2One(n_features, args.hidden, horizon)
        opt = torch.optim.Adam(model.parameters(), lr=args.learning_rate)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, step_size_factor)
        best, best_state, stale = np.inf, None, 0
        for epoch in range(1, args.epochs + 1):
            start = time.perf_counter()
            model.train()
            order = rng.permutation(tr[2])
            total, batches = 0.0, 0
            for lo in range(0, len(order) - args.batch_size + 1, args.batch_size):
                x, y = _gather(tr[0], tr[1], order[lo : lo + args.batch_size], tr[3], tr[4])
                opt.zero_grad()
                loss = loss_fn(model(torch.from_numpy(x)), torch.from_numpy(y))
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                sched.step()
                total, batches = total + float(loss.detach()), batches + 1
            v = val_loss(model)
            seconds = time.perf_counter() - start
            epoch_seconds.append(seconds)
            epochs_run += 1
            train_loss = total / batches
            log(f"  [T-GCN peer, member {member}] epoch {epoch}: train {train_loss:.4f} val {v:.4f} ({seconds:.1f} s)")
            if v < best:
                best, stale = v, 0
                best_state = {k: t.detach().clone() for k, t in model.state_dict().items()}
            else:
                stale += 1
                if stale >= args.patience:
                    break
        model.load_state_dict(best_state)
        forecasts.append(predict(model, te))
    mean_z = np.mean(forecasts, axis=0)
    return mean_z * prep.std_mph + prep.mean_mph, float(np.mean(epoch_seconds)), epochs_run // args.members


def versions() -> dict[str, str]:
    """Installed versions of the peer's packages."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in PEER_PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found
