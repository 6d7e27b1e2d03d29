"""The shipped parameter tables (``twinlab/glucose/data/*.csv``), read once, looked up by name."""

from __future__ import annotations

import csv
import difflib
import functools
from importlib import resources


@functools.cache
def read_table(filename: str) -> dict[str, dict[str, str]]:
    """Rows of a shipped CSV file keyed by its ``Name`` column, in file order."""
    text = (resources.files("twinlab.glucose") / "data" / filename).read_text()
    return {r["Name"]: r for r in csv.DictReader(text.splitlines())}


def lookup(filename: str, name: str, what: str) -> dict[str, str]:
    """The row called ``name``; an unknown name raises a ValueError with close matches and all valid names.

    Args:
        filename: a CSV file in ``twinlab/glucose/data``.
        name: the row's ``Name``.
        what: what a row is, for the message (e.g. ``"virtual patient"``).
    """
    table = read_table(filename)
    if name not in table:
        close = difflib.get_close_matches(str(name), list(table), n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(f"Unknown {what} {name!r}.{hint} Valid names: {', '.join(table)}.")
    return table[name]
