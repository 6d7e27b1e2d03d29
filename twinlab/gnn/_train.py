"""Training a forecaster (or a deep ensemble of them, vmapped over seeds) with optax: early stopping, checkpoints.

The model travels as a pure ``(graphdef, states)`` pair, where ``states`` has a leading member axis E (E = 1 for a
single model): every member is trained by the same compiled step, each on its own shuffle of the windows.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import jraph
import numpy as np
import optax
from flax import nnx
from jax.sharding import Mesh

from twinlab.gnn._checkpoint import save_checkpoint
from twinlab.gnn._models import apply
from twinlab.gnn._windows import Batch, Windows, shard_batch, take_batch

__all__ = ["EpochReport", "TrainConfig", "TrainResult", "ensemble_apply", "evaluate_loss", "init_ensemble", "train"]

LOSSES = ("mae", "mse", "mae+mse")
SCHEDULES = ("constant", "cosine")


@dataclass(frozen=True)
class TrainConfig:
    """How to train.

    Attributes:
        epochs: most passes over the training windows.
        batch_size: windows per step (a multiple of the device count when sharding).
        learning_rate: Adam's step size (the peak one under a schedule).
        schedule: ``"constant"``, or ``"cosine"``: the step size falls along a half cosine from ``learning_rate`` to
            5 % of it at the last step of ``epochs`` (early stopping may end training before).
        grad_clip: global gradient-norm clip.
        patience: stop after this many epochs without a better validation loss (all members).
        loss: ``"mae"``, ``"mse"`` or their sum ``"mae+mse"`` on observed targets (normalised units): the sum is
            linear in small errors (like MAE) and quadratic in large ones (like MSE), so it weighs typical errors
            and large ones (congestion onsets) both.
        members: ensemble size E (members differ in initial weights and in the order of the windows).
        drop_nodes: fraction of nodes whose input features are zeroed in each training window, so the model learns
            to forecast with sensors missing (zero features mean "missing": keep an observed flag among them).
        seed: seed of the initial weights, shuffles and node dropout.
    """

    epochs: int = 50
    batch_size: int = 32
    learning_rate: float = 3e-3
    schedule: str = "constant"
    grad_clip: float = 1.0
    patience: int = 8
    loss: str = "mae"
    members: int = 1
    drop_nodes: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}; got {self.loss!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}; got {self.schedule!r}")
        if self.epochs < 1 or self.batch_size < 1 or self.members < 1 or self.patience < 1:
            raise ValueError("epochs, batch_size, members and patience must be >= 1")
        if not 0.0 <= self.drop_nodes < 1.0:
            raise ValueError(f"drop_nodes is a fraction in [0, 1); got {self.drop_nodes}")


class EpochReport(NamedTuple):
    """Progress after one epoch: losses are means over members; ``seconds`` is the epoch's wall time."""

    epoch: int
    train_loss: float
    val_loss: float
    seconds: float
    improved: bool


@dataclass(frozen=True)
class TrainResult:
    """A trained model (the best validation state of each member) and its history.

    Attributes:
        graphdef: the model's structure (``nnx.split``).
        states: the members' states, stacked on a leading axis E.
        history: one `EpochReport` per epoch run.
        best_val_loss: (E,) best validation loss of each member.
        seconds_per_epoch: mean wall time of an epoch after the first (which includes compiling).
    """

    graphdef: Any
    states: Any
    history: list[EpochReport] = field(default_factory=list)
    best_val_loss: np.ndarray = field(default_factory=lambda: np.zeros(0))
    seconds_per_epoch: float = math.nan

    def member(self, index: int) -> Any:
        """The state of one member (no member axis)."""
        return jax.tree.map(lambda a: a[index], self.states)


def init_ensemble(make_model: Callable[[nnx.Rngs], nnx.Module], members: int, seed: int) -> tuple[Any, Any]:
    """``(graphdef, states)`` of ``members`` models built by ``make_model`` with seeds derived from ``seed``."""
    graphdef, _ = nnx.split(make_model(nnx.Rngs(seed)))
    keys = jax.random.split(jax.random.key(seed), members)
    states = jax.vmap(lambda k: nnx.split(make_model(nnx.Rngs(k)))[1])(keys)
    return graphdef, states


def ensemble_apply(graphdef: Any, states: Any, inputs: jax.Array, graph: jraph.GraphsTuple) -> jax.Array:
    """Every member's forecast: inputs (B, T_in, N, F) -> (E, B, H, N)."""
    return jax.vmap(lambda s: apply(graphdef, s, inputs, graph))(states)


def _loss(kind: str, pred: jax.Array, batch: Batch) -> jax.Array:
    err = pred - batch.targets.astype(pred.dtype)
    per = {"mae": jnp.abs(err), "mse": jnp.square(err), "mae+mse": jnp.abs(err) + jnp.square(err)}[kind]
    w = batch.weights.astype(pred.dtype)
    return jnp.sum(w * per) / jnp.maximum(jnp.sum(w), 1.0)


@partial(jax.jit, static_argnames=("graphdef", "kind"))
def _loss_sums(
    graphdef: Any, states: Any, graph: jraph.GraphsTuple, windows: Windows, idx: jax.Array, valid: jax.Array, kind: str
) -> tuple[jax.Array, jax.Array]:
    batch = take_batch(windows, idx)
    batch = batch.replace(weights=batch.weights * valid.astype(batch.weights.dtype)[:, None, None])
    count = jnp.sum(batch.weights)
    return jax.vmap(lambda s: _loss(kind, apply(graphdef, s, batch.inputs, graph), batch) * count)(states), count


def evaluate_loss(
    graphdef: Any, states: Any, graph: jraph.GraphsTuple, windows: Windows, kind: str, batch_size: int = 64
) -> np.ndarray:
    """(E,) loss of each member over all ``windows`` (observed targets only)."""
    total, count = np.zeros(()), 0.0
    for start in range(0, windows.count, batch_size):
        # Fixed-size batches, the tail padded with the last window and masked out: one compiled shape serves all.
        pos = jnp.arange(start, start + batch_size)
        sums, n = _loss_sums(
            graphdef, states, graph, windows, jnp.minimum(pos, windows.count - 1), pos < windows.count, kind
        )
        total = total + np.asarray(sums)
        count += float(n)
    return np.asarray(total) / max(count, 1.0)


def _drop(key: jax.Array, batch: Batch, fraction: float) -> Batch:
    if fraction == 0.0:
        return batch
    keep = jax.random.bernoulli(key, 1.0 - fraction, (*batch.inputs.shape[:-3], 1, batch.inputs.shape[-2], 1))
    return batch.replace(inputs=batch.inputs * keep.astype(batch.inputs.dtype))


def _make_step(graphdef: Any, graph: jraph.GraphsTuple, tx: optax.GradientTransformation, config: TrainConfig) -> Any:
    """The compiled update of every member on its own (E, B, ...) slice of the batch."""

    def one(state: Any, opt: Any, b: Batch, k: jax.Array) -> tuple[Any, Any, jax.Array]:
        b = _drop(k, b, config.drop_nodes)
        loss, grads = jax.value_and_grad(lambda s: _loss(config.loss, apply(graphdef, s, b.inputs, graph), b))(state)
        # optax raises Python-float decays to int32 step counts, which strict dtype promotion refuses.
        with jax.numpy_dtype_promotion("standard"):
            updates, opt = tx.update(grads, opt, state)
        return optax.apply_updates(state, updates), opt, loss

    @jax.jit
    def step(states: Any, opt_states: Any, batch: Batch, key: jax.Array) -> tuple[Any, Any, jax.Array]:
        return jax.vmap(one)(states, opt_states, batch, jax.random.split(key, config.members))

    return step


def train(
    make_model: Callable[[nnx.Rngs], nnx.Module],
    graph: jraph.GraphsTuple,
    train_windows: Windows,
    val_windows: Windows,
    config: TrainConfig,
    *,
    progress: Callable[[EpochReport], None] | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_arrays: dict[str, Any] | None = None,
    mesh: Mesh | None = None,
) -> TrainResult:
    """Train ``config.members`` models with Adam, keeping each member's best state on ``val_windows``.

    Args:
        make_model: builds a fresh model from ``nnx.Rngs`` (e.g. ``lambda r: SpatioTemporalForecaster(..., rngs=r)``).
        graph: the graph every window lives on.
        train_windows: windows to fit.
        val_windows: windows for early stopping (chronologically after the training ones, to avoid leakage).
        config: the `TrainConfig`.
        progress: called with an `EpochReport` after each epoch (e.g. ``print``).
        checkpoint: if given, the best states so far are saved there (atomically) whenever a member improves.
        checkpoint_arrays: named arrays saved beside the states in every checkpoint (`checkpoint_arrays` reads them).
        mesh: if given, each batch is split over this one-axis device mesh (see `shard_batch`).

    Returns:
        The `TrainResult`.
    """
    steps = train_windows.count // config.batch_size
    if steps < 1:
        raise ValueError(
            f"{train_windows.count} training windows make no batch of {config.batch_size}. Fix: a smaller "
            "batch_size or more data."
        )
    graphdef, states = init_ensemble(make_model, config.members, config.seed)
    tx = optax.chain(optax.clip_by_global_norm(config.grad_clip), optax.adam(_step_size(config, steps)))
    opt_states = jax.vmap(tx.init)(states)
    step = _make_step(graphdef, graph, tx, config)
    gather = jax.jit(take_batch)
    key = jax.random.key(config.seed + 1)
    best = states
    best_val = np.full(config.members, np.inf)
    waited = np.zeros(config.members, int)
    history: list[EpochReport] = []
    for epoch in range(config.epochs):
        start = time.perf_counter()
        key, k_perm, k_drop = jax.random.split(key, 3)
        perms = jax.vmap(lambda k: jax.random.permutation(k, train_windows.count))(
            jax.random.split(k_perm, config.members)
        )
        losses = []
        for i in range(steps):
            batch = gather(train_windows, perms[:, i * config.batch_size : (i + 1) * config.batch_size])
            if mesh is not None:
                batch = shard_batch(batch, mesh, batch_axis=1)
            states, opt_states, loss = step(states, opt_states, batch, jax.random.fold_in(k_drop, i))
            losses.append(loss)
        val = evaluate_loss(graphdef, states, graph, val_windows, config.loss)
        better = val < best_val
        best = _select(better, states, best)
        best_val = np.where(better, val, best_val)
        waited = np.where(better, 0, waited + 1)
        if checkpoint is not None and better.any():
            meta = {"epoch": epoch, "best_val_loss": best_val.tolist(), **asdict(config)}
            save_checkpoint(checkpoint, best, meta, arrays=checkpoint_arrays)
        report = EpochReport(
            epoch, float(np.mean(np.asarray(jnp.stack(losses)))), float(np.mean(val)), 0.0, bool(better.any())
        )
        history.append(report._replace(seconds=time.perf_counter() - start))
        if progress is not None:
            progress(history[-1])
        if np.all(waited >= config.patience):
            break
    timed = [r.seconds for r in history[1:]] or [history[0].seconds]
    return TrainResult(graphdef, best, history, best_val, float(np.mean(timed)))


def _step_size(config: TrainConfig, steps_per_epoch: int) -> float | optax.Schedule:
    if config.schedule == "constant":
        return config.learning_rate
    return optax.cosine_decay_schedule(config.learning_rate, config.epochs * steps_per_epoch, alpha=0.05)


def _select(mask: np.ndarray, new: Any, old: Any) -> Any:
    """Per member (leading axis): ``new`` where ``mask`` else ``old``."""
    pick = jnp.asarray(mask)
    return jax.tree.map(lambda n, o: jnp.where(pick.reshape(pick.shape + (1,) * (n.ndim - 1)), n, o), new, old)
