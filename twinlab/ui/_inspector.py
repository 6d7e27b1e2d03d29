"""`Inspector`: a twin or a posterior at a glance: its parts, its parameters with units, the gate's diagnostics."""

from __future__ import annotations

from typing import Any

import anywidget
import numpy as np
import traitlets

from twinlab.bayes._posterior import Posterior
from twinlab.twin import Twin
from twinlab.ui._explorer import _esm
from twinlab.ui._units import parameter_units

#: Central mass of the intervals shown.
MASS = 0.9


def _parameters(post: Posterior) -> list[dict[str, Any]]:
    units = parameter_units()
    draws = post.draws
    rows = []
    for name in (*post.free, "bg0_mg_dl", "sigma_mg_dl"):
        v = np.asarray(draws[name], dtype=np.float64).reshape(-1)
        lo, med, hi = np.quantile(v, [0.5 - MASS / 2, 0.5, 0.5 + MASS / 2])
        if name in units:
            meaning, unit = units[name]
        elif name == "bg0_mg_dl":
            meaning, unit = "plasma glucose at the start of the data", "mg/dL"
        else:
            meaning, unit = "CGM reading error scale", "mg/dL"
        rows.append({"name": name, "meaning": meaning, "unit": unit, "median": float(med), "lo": float(lo),
                     "hi": float(hi), "free": name in post.free})  # fmt: skip
    return rows


def _diagnostics(post: Posterior) -> dict[str, Any]:
    d = post.diagnostics
    table = [{"quantity": q, "rhat": d.rhat[q], "ess_bulk": d.ess_bulk.get(q), "ess_tail": d.ess_tail.get(q)}
             for q in d.rhat]  # fmt: skip
    return {"ok": d.ok, "method": d.method, "chains": d.chains, "draws": d.draws, "divergences": d.divergences,
            "failures": list(d.failures), "table": table}  # fmt: skip


def describe(obj: Twin | Posterior) -> dict[str, Any]:
    """A JSON-ready summary of a twin or a posterior: ``parts``, ``parameters`` (with units), ``diagnostics``.

    Raises:
        TypeError: anything else.
    """
    if isinstance(obj, Twin):
        post, rec = obj.posterior, obj.record
        title = f"Twin of {obj.name or 'a person'}"
        parts = [
            {"part": "model", "value": f"{type(obj.model).__name__} ({len(parameter_units())} parameters)"},
            {"part": "record", "value": f"{rec.minutes} min, {rec.n_readings} CGM readings, "
                                        f"{len(rec.schedule._meals)} meals ({rec.source or 'no source'})"},
        ]  # fmt: skip
    elif isinstance(obj, Posterior):
        post, title, parts = obj, "Posterior", []
    else:
        raise TypeError(f"the inspector shows a tl.Twin or a tl.bayes.Posterior; got {type(obj).__name__}")
    parts += [
        {"part": "posterior", "value": f"{post.method}: {post.theta.shape[0]} chain(s) x {post.theta.shape[1]} draws, "
                                       f"{post.minutes} min of data"},
        {"part": "personalised", "value": ", ".join(post.free) or "nothing (fixed parameters)"},
        {"part": "gate", "value": "passed" if post.ok else "WITHHELD"},
    ]  # fmt: skip
    return {"title": title, "parts": parts, "parameters": _parameters(post), "diagnostics": _diagnostics(post)}


class Inspector(anywidget.AnyWidget):
    """A read-only view of a twin or a posterior (`describe` is what it shows).

    Args:
        obj: a `tl.Twin` or a `tl.bayes.Posterior`.
    """

    _esm = traitlets.Any().tag(sync=True)
    summary: traitlets.Dict[str, Any] = traitlets.Dict().tag(sync=True)

    def __init__(self, obj: Twin | Posterior) -> None:
        super().__init__(_esm=_esm("inspector"), summary=describe(obj))

    def show(self, obj: Twin | Posterior) -> None:
        """Show another twin or posterior (for example the twin after `Twin.assimilate`)."""
        self.summary = describe(obj)
