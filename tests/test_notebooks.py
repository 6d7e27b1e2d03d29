"""Every notebook executes (smoke sizes) within Binder's memory, has no stored outputs, and matches its jupytext pair;
the README's reading order lists exactly the notebooks there are."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb")) + sorted(NOTEBOOK_DIR.glob("teaching/*.ipynb"))
IDS = [p.relative_to(NOTEBOOK_DIR).with_suffix("").as_posix() for p in NOTEBOOKS]
# Binder gives 1-2 GB: each notebook's kernel must peak below this (resident set size, bytes).
PEAK_RSS_LIMIT_BYTES = 1.5e9
# The kernel's own peak resident set (VmHWM, KiB). Not getrusage's ru_maxrss: Linux carries that high-water mark
# over fork and exec, so a kernel started by a large test process would report the test process's peak.
PROBE = "import re\nprint('peak-rss-kib', re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))"


def test_there_are_notebooks() -> None:
    assert [p.stem for p in NOTEBOOKS][:1] == ["01_patient_twin"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_stored_without_outputs_and_paired(path: Path) -> None:
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        assert not cell.get("outputs"), f"{path.name}: strip outputs before committing"
    paired = jupytext.read(path.with_suffix(".py"))
    assert [c.source for c in paired.cells] == [
        c["source"] if isinstance(c["source"], str) else "".join(c["source"]) for c in nb["cells"]
    ], f"{path.name} and its .py differ: jupytext --sync"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_executes(path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TWINLAB_SMOKE", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    # The kernel is a fresh process: give it one CPU device and default dtypes, as a user has.
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PROBE))  # the kernel's own peak RSS (Linux: KiB), read last
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    (out,) = [o["text"] for o in nb.cells[-1].outputs if o.get("name") == "stdout"]
    peak_bytes = int(out.split()[1]) * 1024
    print(f"{path.relative_to(NOTEBOOK_DIR)}: kernel peak RSS {peak_bytes / 2**20:.0f} MiB")
    assert peak_bytes < PEAK_RSS_LIMIT_BYTES, f"{path.name} peaks at {peak_bytes / 1e9:.2f} GB; Binder has 1-2 GB"


def _reading_order(readme: str, folder: str) -> list[str]:
    """The notebooks a README section lists, in order (its numbered lines' first code span)."""
    return re.findall(rf"^\d+\. `({re.escape(folder)}[\w./]+)`", readme, re.M)


def test_readme_reading_order_matches_the_files() -> None:
    readme = (NOTEBOOK_DIR / "README.md").read_text()
    listed = _reading_order(readme, "")
    assert listed == IDS, "notebooks/README.md must list every notebook (teaching path included), in file order"
    for name in listed:
        assert (NOTEBOOK_DIR / f"{name}.py").is_file(), f"{name} has no jupytext pair"
