"""`tapped_sensor`: which sensor a tap on the network map picks: the nearest one, if the tap is close enough."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["TAP_RADIUS", "tapped_sensor"]

#: How far from a sensor's centre a tap still picks it, in layout units (`spring_layout` spans 0 to 1 on each axis).
#: On a map 400 pixels high that is about 14 pixels: a sensor's marker (13 pixels across) and its selection ring.
TAP_RADIUS = 0.04


def tapped_sensor(
    x: float | None, y: float | None, positions: np.ndarray, sensor_ids: Sequence[str], *, radius: float = TAP_RADIUS
) -> str | None:
    """The sensor nearest a tap at ``(x, y)``, or None when no sensor lies within ``radius`` (empty space).

    Args:
        x: the tap's horizontal position, layout units (None before any tap).
        y: the tap's vertical position, layout units (None before any tap).
        positions: (N, 2) the sensors' drawing positions, layout units.
        sensor_ids: the N sensors, in the order of ``positions``.
        radius: the farthest a tap may land from a sensor's centre and still pick it, layout units.

    Returns:
        The id of the nearest sensor within ``radius`` (the first of equally near ones), or None.

    Example:
        >>> pos = np.array([[0.0, 0.0], [1.0, 0.0]])
        >>> tapped_sensor(0.98, 0.01, pos, ["a", "b"])
        'b'
        >>> tapped_sensor(0.5, 0.5, pos, ["a", "b"]) is None
        True
    """
    pos = np.asarray(positions, dtype=np.float64).reshape(-1, 2)
    if len(pos) != len(sensor_ids):
        raise ValueError(f"{len(pos)} positions for {len(sensor_ids)} sensors: pass one (x, y) row per sensor id")
    if x is None or y is None or len(pos) == 0:
        return None
    dist = np.hypot(pos[:, 0] - x, pos[:, 1] - y)
    nearest = int(np.argmin(dist))
    return sensor_ids[nearest] if dist[nearest] <= radius else None
