"""twinlab: hyper-personalised digital twins in JAX.

Subpackages load on first use (``tl.glucose``, ``tl.sim``), so ``import twinlab`` stays light: it imports no UI
library, no NumPyro and no jraph.

Example:
    >>> import twinlab as tl
    >>> tl.glucose.patient_names()[:2]
    ['adolescent#001', 'adolescent#002']
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from twinlab._version import __version__
from twinlab._xla import apply_cpu_compiler_defaults

apply_cpu_compiler_defaults()

_SUBPACKAGES = (
    "sim", "glucose", "datasets", "bayes", "data", "io", "gnn", "hybrid", "traffic", "control", "dash", "ui",
)  # fmt: skip

if TYPE_CHECKING:
    from twinlab import bayes, control, dash, data, datasets, glucose, gnn, hybrid, io, sim, traffic, ui
    from twinlab.twin import Twin

__all__ = [
    "Twin",
    "__version__",
    "bayes",
    "control",
    "dash",
    "data",
    "datasets",
    "glucose",
    "gnn",
    "hybrid",
    "io",
    "sim",
    "traffic",
    "ui",
]


def __getattr__(name: str) -> Any:
    if name == "Twin":  # loads NumPyro: only when asked for
        from twinlab.twin import Twin

        globals()["Twin"] = Twin
        return Twin
    if name in _SUBPACKAGES:
        module = importlib.import_module(f"twinlab.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'twinlab' has no attribute {name!r}; subpackages: {', '.join(_SUBPACKAGES)}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_SUBPACKAGES, "Twin"])
