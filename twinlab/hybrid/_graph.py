"""The graph over the UVA/Padova model's compartments that the residual network passes messages on.

Nodes are the model's 13 states followed by two exercise-memory states of the hybrid (`EXERCISE_NODES`); edges are
the model's mass flows and signals (gut to plasma, plasma to tissue, insulin depots to plasma, insulin to its actions)
plus links from the exercise memories to the compartments exercise is known to act on (plasma and tissue glucose,
insulin action). Every link is used in both directions, so information also flows against a mass flow.
"""

from __future__ import annotations

import numpy as np

from twinlab.glucose import UVAPadova

#: The hybrid's extra states: the heart rate above rest, filtered fast and slow (dimensionless, see `HybridUVAPadova`).
EXERCISE_NODES: tuple[str, ...] = ("E_fast", "E_slow")
#: Node names, in state order: the 13 UVA/Padova states then the exercise memories.
NODE_NAMES: tuple[str, ...] = (*UVAPadova.state_names, *EXERCISE_NODES)

#: Directed links (from, to) by name: the model's flows and signals, then where exercise acts.
LINKS: tuple[tuple[str, str], ...] = (
    ("Qsto1", "Qsto2"), ("Qsto2", "Qgut"), ("Qgut", "Gp"),  # meal: stomach -> gut -> plasma
    ("Gp", "Gt"), ("Gt", "Gp"), ("Gp", "Gs"),  # glucose: plasma <-> tissue, plasma -> subcutaneous
    ("Isc1", "Isc2"), ("Isc1", "Ip"), ("Isc2", "Ip"), ("Ip", "Il"), ("Il", "Ip"),  # insulin transport
    ("Ip", "X"), ("X", "Gt"), ("Ip", "I1"), ("I1", "Id"), ("Id", "Gp"),  # insulin actions
    ("E_fast", "Gp"), ("E_fast", "Gt"), ("E_slow", "Gp"), ("E_slow", "Gt"), ("E_slow", "X"),  # exercise
)  # fmt: skip


def compartment_edges() -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``(senders, receivers)`` node indices of every link in both directions, once each, (E,) each.

    A link listed both ways in `LINKS` (plasma <-> tissue glucose) gives two edges, not four.
    """
    index = {name: i for i, name in enumerate(NODE_NAMES)}
    forward = [(index[a], index[b]) for a, b in LINKS]
    pairs = list(dict.fromkeys(forward + [(b, a) for a, b in forward]))  # ordered, without repeats
    return tuple(a for a, _ in pairs), tuple(b for _, b in pairs)


def compartment_adjacency() -> np.ndarray:
    """(N, N) row-normalised adjacency: ``A[i, j] = 1 / in-degree(i)`` for each link j -> i (every node has links)."""
    senders, receivers = compartment_edges()
    a = np.zeros((len(NODE_NAMES), len(NODE_NAMES)))
    a[receivers, senders] = 1.0
    return a / a.sum(axis=1, keepdims=True)
