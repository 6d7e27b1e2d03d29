"""The teaching path: every exercise has its solution kept apart (tagged), and students' copies lose them all."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from twinlab.lab import SOLUTION_TAG, strip_solutions, write_student_copies
from twinlab.lab.__main__ import main

TEACHING = Path(__file__).resolve().parents[1] / "notebooks" / "teaching"
NOTEBOOKS = sorted(TEACHING.glob("*.ipynb"))


def _tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def _source(cell: dict) -> str:
    return cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])


def test_five_or_six_short_notebooks() -> None:
    assert 5 <= len(NOTEBOOKS) <= 6


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_exercise_is_followed_by_its_solution(path: Path) -> None:
    cells = json.loads(path.read_text())["cells"]
    exercises = [i for i, c in enumerate(cells) if c["cell_type"] == "markdown" and "✏️ **Exercise" in _source(c)]
    assert len(exercises) >= 2, f"{path.name}: each teaching notebook has exercises"
    for i in exercises:
        assert i + 1 < len(cells) and SOLUTION_TAG in _tags(cells[i + 1]), f"{path.name}: exercise at cell {i}"
    assert all(SOLUTION_TAG not in _tags(c) for c in cells[: exercises[0]]), "the lesson itself needs no solution"
    assert "SMOKE" in "".join(_source(c) for c in cells), f"{path.name} must honour TWINLAB_SMOKE"


def test_students_copies_have_no_solutions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["students", str(TEACHING), str(tmp_path)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == len(NOTEBOOKS)
    for path in NOTEBOOKS:
        original = json.loads(path.read_text())
        student = nbformat.read(tmp_path / path.name, as_version=4)
        nbformat.validate(student)
        assert not any(SOLUTION_TAG in c.metadata.get("tags", []) for c in student.cells)
        kept = [_source(c) for c in original["cells"] if SOLUTION_TAG not in _tags(c)]
        assert [c.source for c in student.cells if c.source.strip() != "# ✏️ your answer"] == kept
        n_exercises = sum("✏️ **Exercise" in _source(c) for c in original["cells"])
        assert sum(c.source.strip() == "# ✏️ your answer" for c in student.cells) == n_exercises


def test_strip_solutions_leaves_the_original_alone() -> None:
    nb = json.loads(NOTEBOOKS[0].read_text())
    before = json.dumps(nb)
    strip_solutions(nb)
    assert json.dumps(nb) == before


def test_write_student_copies_names_an_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="notebooks/teaching"):
        write_student_copies(tmp_path, tmp_path / "out")
