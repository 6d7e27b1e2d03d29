"""Carbohydrate estimates for meals written as food lists with gram weights (ShanghaiT1DM's diaries)."""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = ["UNPARSED_ITEM_SD_G", "MealEstimate", "estimate_meal", "food_table"]

# Each diary line that names no weight, or a food the table lacks, adds this much to the meal's sd (g): roughly one
# small side dish or snack of unknown carbohydrate.
UNPARSED_ITEM_SD_G = 15.0

_ITEM = re.compile(r"^(?P<food>.*?)\s*(?P<amount>\d+(?:\.\d+)?)\s*(?P<unit>g|ml)$", re.IGNORECASE)
_GLUCOSE = re.compile(r"equal to (?P<amount>\d+(?:\.\d+)?)\s*g glucose", re.IGNORECASE)
_FIXES = {"shredd ": "shredded ", "brasied": "braised", "mshroom": "mushroom", "fugus": "fungus", "seasame": "sesame"}


@cache
def food_table() -> tuple[tuple[str, float, float], ...]:
    """``(keyword, carbohydrate g per 100 g, relative sd)`` rows in match order (from ``data/food_carbs.csv``)."""
    text = resources.files("twinlab.data").joinpath("data/food_carbs.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    return tuple((r["keyword"], float(r["carbs_g_per_100g"]), float(r["rel_sd"])) for r in rows)


@dataclass(frozen=True)
class MealEstimate:
    """One meal's carbohydrate estimate.

    Attributes:
        carbs_g: estimated carbohydrate, g.
        sd_g: its standard deviation, g: the items' ``rel_sd * carbs`` added in quadrature, plus
            ``UNPARSED_ITEM_SD_G`` for each item that could not be estimated.
        items: ``(food, grams, carbs g)`` of the items estimated.
        unparsed: ``(diary line, reason)`` of the items that could not be.
    """

    carbs_g: float
    sd_g: float
    items: tuple[tuple[str, float, float], ...]
    unparsed: tuple[tuple[str, str], ...]


def estimate_meal(text: str) -> MealEstimate:
    r"""Estimate the carbohydrate of a diary entry such as ``"Steamed bun 50 g\nMilk 250 ml"``.

    Example:
        >>> m = estimate_meal("Steamed bun 50 g\nMilk 250 ml\n1 piece of pie")
        >>> round(m.carbs_g, 1), [line for line, _ in m.unparsed]
        (36.0, ['1 piece of pie'])
    """
    items, unparsed, var = [], [], 0.0
    for line in str(text).splitlines():
        clean = " ".join(line.replace("\xa0", " ").split())
        if not clean:
            continue
        glucose = _GLUCOSE.search(clean)
        match = _ITEM.match(clean)
        if glucose:
            food, grams = "glucose", float(glucose["amount"])
        elif match and match["food"]:
            food, grams = match["food"].lower(), float(match["amount"])
        else:
            unparsed.append((clean, "no weight in g or ml"))
            continue
        for wrong, right in _FIXES.items():
            food = food.replace(wrong, right)
        row = next((r for r in food_table() if r[0] in food), None)
        if row is None:
            unparsed.append((clean, "food not in the carbohydrate table"))
            continue
        carbs = grams * row[1] / 100.0
        items.append((food, grams, carbs))
        var += (carbs * row[2]) ** 2
    sd = math.sqrt(var) + UNPARSED_ITEM_SD_G * len(unparsed)
    return MealEstimate(sum(c for _, _, c in items), sd, tuple(items), tuple(unparsed))
