"""Which sensor a tap on the traffic map picks (the pure function behind the map's taps)."""

from __future__ import annotations

import numpy as np
import pytest

from twinlab.dash._map_pick import TAP_RADIUS, tapped_sensor

POSITIONS = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, 1.0], [0.52, 1.0]])
IDS = ["a", "b", "c", "d"]


def test_a_tap_picks_the_nearest_sensor_within_the_radius() -> None:
    assert tapped_sensor(0.0, 0.0, POSITIONS, IDS) == "a"
    assert tapped_sensor(0.97, 0.02, POSITIONS, IDS) == "b"
    assert tapped_sensor(0.505, 0.99, POSITIONS, IDS) == "c"  # two sensors close together: the nearer one
    assert tapped_sensor(0.516, 1.01, POSITIONS, IDS) == "d"
    assert tapped_sensor(0.51, 1.0, POSITIONS, IDS) == "c"  # equally near: the first
    edge = 0.999 * TAP_RADIUS
    assert tapped_sensor(1.0 - edge, 0.0, POSITIONS, IDS) == "b"
    assert tapped_sensor(1.0, 0.1, POSITIONS, IDS, radius=0.11) == "b"


def test_a_tap_on_empty_space_picks_none() -> None:
    assert tapped_sensor(0.5, 0.5, POSITIONS, IDS) is None
    assert tapped_sensor(1.0 - 1.01 * TAP_RADIUS, 0.0, POSITIONS, IDS) is None
    assert tapped_sensor(-0.08, -0.08, POSITIONS, IDS) is None  # the map's padding, beyond every sensor
    assert tapped_sensor(None, None, POSITIONS, IDS) is None  # the stream's value before any tap
    assert tapped_sensor(0.0, 0.0, np.zeros((0, 2)), []) is None


def test_positions_and_ids_must_pair_up() -> None:
    with pytest.raises(ValueError, match="3 positions for 4 sensors: pass one"):
        tapped_sensor(0.0, 0.0, POSITIONS[:3], IDS)
