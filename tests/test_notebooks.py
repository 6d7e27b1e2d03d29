"""Every notebook executes (smoke sizes), has no stored outputs, and matches its jupytext pair."""

from __future__ import annotations

import json
from pathlib import Path

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks() -> None:
    assert [p.stem for p in NOTEBOOKS][:1] == ["01_patient_twin"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_stored_without_outputs_and_paired(path: Path) -> None:
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        assert not cell.get("outputs"), f"{path.name}: strip outputs before committing"
    paired = jupytext.read(path.with_suffix(".py"))
    assert [c.source for c in paired.cells] == [
        c["source"] if isinstance(c["source"], str) else "".join(c["source"]) for c in nb["cells"]
    ], f"{path.name} and its .py differ: jupytext --sync"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TWINLAB_SMOKE", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    # The kernel is a fresh process: give it one CPU device and default dtypes, as a user has.
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
