"""`spring_layout`: drawing positions for a sensor graph that has no coordinates (a seeded force-directed layout)."""

from __future__ import annotations

import numpy as np

__all__ = ["spring_layout"]


def spring_layout(adjacency: np.ndarray, *, seed: int = 0, iterations: int = 200) -> np.ndarray:
    """Fruchterman-Reingold positions of a graph's nodes, deterministic for a given ``seed``.

    Linked nodes attract in proportion to their link weight and every pair repels, from seeded uniform starting
    positions; each move is capped by a temperature that cools linearly to zero. The positions are drawing
    coordinates only: they are not geography.

    Args:
        adjacency: (N, N) non-negative link weights, 0 where two nodes are not linked (the diagonal is ignored).
        seed: seed of the starting positions.
        iterations: moves of every node.

    Returns:
        (N, 2) float64 positions, scaled into [0, 1] along each axis.

    Example:
        >>> pos = spring_layout(np.array([[0.0, 1.0], [1.0, 0.0]]))
        >>> pos.shape, bool(np.all((pos >= 0) & (pos <= 1)))
        ((2, 2), True)
    """
    a = np.asarray(adjacency, dtype=np.float64)
    n = a.shape[0]
    if a.shape != (n, n) or np.any(a < 0) or not np.all(np.isfinite(a)):
        raise ValueError(f"adjacency must be a square array of finite non-negative weights; got shape {a.shape}")
    if n == 1:
        return np.full((1, 2), 0.5)
    a = np.where(np.eye(n, dtype=bool), 0.0, a)
    pos = np.random.default_rng(seed).uniform(size=(n, 2))
    k = 1.0 / np.sqrt(n)  # the ideal distance between nodes in the unit square
    temperature = 0.1
    cooling = temperature / (iterations + 1)
    for _ in range(iterations):
        delta = pos[:, None, :] - pos[None, :, :]  # (N, N, 2)
        dist = np.maximum(np.linalg.norm(delta, axis=-1), 1e-3)
        strength = k * k / dist**2 - a * dist / k  # repulsion minus weighted attraction, per unit of delta
        move = np.einsum("ij,ijk->ik", strength, delta)
        length = np.maximum(np.linalg.norm(move, axis=-1, keepdims=True), 1e-3)
        pos = pos + move / length * np.minimum(length, temperature)
        temperature -= cooling
    span = np.maximum(pos.max(axis=0) - pos.min(axis=0), 1e-12)
    return (pos - pos.min(axis=0)) / span
