"""Units: every stored value is in its quantity's canonical unit, converted from the unit its source declares.

Canonical units and the conversions accepted (unit spellings are matched without regard to case or spaces; UCUM
spellings such as ``[iU]`` and ``[mi_i]/h`` are accepted):

=============  =========  ==============================================================================
quantity       canonical  also accepted (factor to canonical)
=============  =========  ==============================================================================
glucose        mg/dL      mmol/L (x 18.0156), g/L (x 100)
ketone         mmol/L     -
insulin        U          IU, [iU] (x 1), mU (x 0.001)
insulin_rate   U/h        IU/h (x 1), U/min (x 60)
carbohydrate   g          mg (x 0.001), kg (x 1000)
energy         kcal       kJ (/ 4.184), Cal (x 1)
speed          km/h       mph (x 1.609344), m/s (x 3.6)
flow           veh/h      -
heart_rate     /min       bpm (x 1)
=============  =========  ==============================================================================

The glucose factor is 1 mmol/L = 18.0156 mg/dL, from the molar mass of glucose C6H12O6 (6 x 12.011 + 12 x 1.008 +
6 x 15.999 = 180.156 g/mol, IUPAC standard atomic weights): 180.156 mg/L per mmol/L = 18.0156 mg/dL. The figure
18.0182 that some software uses is 0.014 % higher; 18 is the rounded clinical convention.

Example:
    >>> round(float(to_canonical(5.5, "mmol/L", "glucose")[0]), 4)
    99.0858
"""

from __future__ import annotations

import numpy as np

__all__ = ["GLUCOSE_MG_DL_PER_MMOL_L", "QUANTITIES", "UnknownUnitError", "canonical_unit", "convert", "to_canonical"]

GLUCOSE_MG_DL_PER_MMOL_L = 18.0156

QUANTITIES: dict[str, tuple[str, dict[str, float]]] = {
    "glucose": ("mg/dL", {"mg/dL": 1.0, "mmol/L": GLUCOSE_MG_DL_PER_MMOL_L, "g/L": 100.0}),
    "ketone": ("mmol/L", {"mmol/L": 1.0}),
    "insulin": ("U", {"U": 1.0, "IU": 1.0, "[iU]": 1.0, "mU": 0.001}),
    "insulin_rate": ("U/h", {"U/h": 1.0, "IU/h": 1.0, "[iU]/h": 1.0, "U/min": 60.0}),
    "carbohydrate": ("g", {"g": 1.0, "mg": 0.001, "kg": 1000.0}),
    "energy": ("kcal", {"kcal": 1.0, "kJ": 1 / 4.184, "Cal": 1.0, "[Cal]": 1.0}),
    "speed": ("km/h", {"km/h": 1.0, "mph": 1.609344, "[mi_i]/h": 1.609344, "m/s": 3.6}),
    "flow": ("veh/h", {"veh/h": 1.0}),
    "heart_rate": ("/min", {"/min": 1.0, "bpm": 1.0, "{beats}/min": 1.0}),
}

# Lower-cased, space-free spelling -> the table's spelling, per quantity.
_LOOKUP = {q: {u.replace(" ", "").lower(): u for u in table} for q, (_, table) in QUANTITIES.items()}


class UnknownUnitError(ValueError):
    """A unit that twinlab cannot convert to its quantity's canonical unit."""


def canonical_unit(quantity: str) -> str:
    """The canonical unit of ``quantity`` (a key of ``QUANTITIES``)."""
    if quantity not in QUANTITIES:
        raise KeyError(f"unknown quantity {quantity!r}; known: {', '.join(sorted(QUANTITIES))}")
    return QUANTITIES[quantity][0]


def factor(unit: object, quantity: str) -> float:
    """The factor that takes a value in ``unit`` to ``quantity``'s canonical unit.

    Raises:
        UnknownUnitError: ``unit`` is missing or is not a unit of ``quantity``.
    """
    canonical_unit(quantity)
    if not isinstance(unit, str) or not unit.strip():
        raise UnknownUnitError(
            f"no unit given for a {quantity} value; no unitless number enters the store. Fix: declare the unit "
            f"(one of {', '.join(QUANTITIES[quantity][1])})."
        )
    key = _LOOKUP[quantity].get(unit.replace(" ", "").lower())
    if key is None:
        raise UnknownUnitError(
            f"unknown {quantity} unit {unit!r}; accepted: {', '.join(QUANTITIES[quantity][1])}. Fix: convert the "
            f"source or declare one of these units in its mapping."
        )
    return QUANTITIES[quantity][1][key]


def to_canonical(value: float | np.ndarray, unit: str, quantity: str) -> tuple[np.ndarray, str]:
    """``(value in the canonical unit, canonical unit)``; shape of ``value`` kept."""
    return np.asarray(value, dtype=np.float64) * factor(unit, quantity), canonical_unit(quantity)


def convert(value: float | np.ndarray, from_unit: str, to_unit: str, quantity: str) -> np.ndarray:
    """``value`` in ``from_unit`` expressed in ``to_unit`` (both units of ``quantity``)."""
    return np.asarray(value, dtype=np.float64) * (factor(from_unit, quantity) / factor(to_unit, quantity))
