"""Units and meanings of the glucose model's parameters, read from `tl.glucose.PatientParams`' own units table.

One source of truth: the table in the class docstring is what the widgets show.
"""

from __future__ import annotations

import re
from functools import cache

from twinlab.glucose._params import MODEL_FIELDS, PatientParams


@cache
def parameter_units() -> dict[str, tuple[str, str]]:
    """``{name: (meaning, unit)}`` for every field of `tl.glucose.PatientParams` the units table names.

    Rows naming several parameters ("b, d", "k1, k2", "m1..m30") give each its row's unit; "-" means dimensionless.
    """
    doc = PatientParams.__doc__ or ""
    table = doc[doc.index("name ") :] if "name " in doc else ""
    out: dict[str, tuple[str, str]] = {}
    for line in table.splitlines()[2:]:
        line = line.strip()
        if not line or line.startswith("="):
            if out:
                break
            continue
        parts = re.split(r"\s{2,}", line)
        if len(parts) < 3:
            continue
        names, unit, meaning = parts[0], parts[1], " ".join(parts[2:])
        unit = "dimensionless" if unit == "-" else unit
        for name in re.split(r",\s*", names):
            span = re.fullmatch(r"([a-zA-Z]+)(\d+)\.\.[a-zA-Z]+(\d+)", name)
            if span:
                stem, a, b = span.group(1), int(span.group(2)), int(span.group(3))
                for i in range(a, b + 1):
                    if f"{stem}{i}" in MODEL_FIELDS:
                        out[f"{stem}{i}"] = (meaning, unit)
            elif name in MODEL_FIELDS:
                out[name] = (meaning, unit)
    return out
