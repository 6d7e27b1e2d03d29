"""Students' copies of the teaching notebooks: every cell tagged ``solution`` removed, an empty answer cell left.

The teaching notebooks (``notebooks/teaching``) keep each exercise's solution in the cells right after it, tagged
``solution``, so the test suite runs them. A class gets the copies this module writes.

Example:
    >>> nb = {"cells": [{"cell_type": "code", "source": "1 + 1", "metadata": {"tags": ["solution"]},
    ...                  "outputs": [], "execution_count": None}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    >>> strip_solutions(nb)["cells"][0]["source"].strip()
    '# ✏️ your answer'
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

from twinlab._atomic import atomic_write_bytes

__all__ = ["SOLUTION_TAG", "strip_solutions", "write_student_copies"]

SOLUTION_TAG = "solution"
_ANSWER = "# ✏️ your answer\n"


def _is_solution(cell: dict[str, Any]) -> bool:
    return SOLUTION_TAG in cell.get("metadata", {}).get("tags", [])


def strip_solutions(notebook: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``notebook`` (nbformat 4 JSON) without its solution cells.

    Each run of consecutive solution cells becomes one empty code cell for the answer. Outputs are cleared.
    """
    out = copy.deepcopy(notebook)
    cells: list[dict[str, Any]] = []
    previous_was_solution = False
    for cell in out["cells"]:
        if _is_solution(cell):
            if not previous_was_solution:
                cells.append({"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                              "source": _ANSWER})  # fmt: skip
            previous_was_solution = True
            continue
        previous_was_solution = False
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
        cells.append(cell)
    for i, cell in enumerate(cells):  # nbformat 4.5 cell ids must be unique
        if "id" in cell or out.get("nbformat_minor", 0) >= 5:
            cell["id"] = f"cell-{i}"
    out["cells"] = cells
    out.get("metadata", {}).pop("jupytext", None)  # the copy is a plain notebook, not half of a pair
    return out


def write_student_copies(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> list[Path]:
    """Write a students' copy of every ``*.ipynb`` in ``source`` into ``target`` (created); returns the paths."""
    src, dst = Path(source), Path(target)
    notebooks = sorted(src.glob("*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"no notebooks in {src}; point it at notebooks/teaching.")
    dst.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebooks:
        student = strip_solutions(json.loads(path.read_text(encoding="utf-8")))
        data = (json.dumps(student, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
        written.append(atomic_write_bytes(dst / path.name, data))
    return written
