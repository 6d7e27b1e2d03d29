"""The template notebooks behind the launcher's "New digital twin" cards (shipped in ``twinlab/lab/templates``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Template", "template_notebook", "templates"]

TEMPLATE_DIR = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class Template:
    """One template notebook.

    Attributes:
        name: the file stem in ``twinlab/lab/templates`` (also the new notebook's name).
        title: the launcher card's label.
        description: one line on what the notebook builds.
    """

    name: str
    title: str
    description: str


_TEMPLATES = (
    Template(
        "glucose_patient_twin",
        "Glucose patient twin",
        "A person's glucose twin (UVA/Padova model): simulate, forecast with bands, save to a .twinlab file.",
    ),
    Template(
        "traffic_twin",
        "Traffic twin",
        "A road network's speed twin (graph GRU ensemble on the Los Angeles loop detectors): train, forecast, save.",
    ),
)


def templates() -> list[Template]:
    """The templates, in launcher order."""
    return list(_TEMPLATES)


def template_notebook(name: str) -> dict[str, Any]:
    """The template notebook ``name`` as nbformat 4 JSON; a KeyError naming the known templates otherwise."""
    known = {t.name for t in _TEMPLATES}
    if name not in known:
        raise KeyError(f"no template named {name!r}; known: {', '.join(sorted(known))}")
    notebook: dict[str, Any] = json.loads((TEMPLATE_DIR / f"{name}.ipynb").read_text(encoding="utf-8"))
    return notebook
