"""The JupyterLab side's Python parts: the template notebooks behind the launcher cards, and the packaging that puts
the prebuilt extension and the server extension where Jupyter finds them."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import nbformat
import pytest

from twinlab import lab

ROOT = Path(__file__).resolve().parents[1]


def test_templates_are_valid_stripped_notebooks() -> None:
    names = [t.name for t in lab.templates()]
    assert names == ["glucose_patient_twin", "traffic_twin"]
    shipped = sorted(p.stem for p in (ROOT / "twinlab" / "lab" / "templates").glob("*.ipynb"))
    assert shipped == sorted(names), "every shipped template has a launcher card and vice versa"
    for name in names:
        nb = nbformat.reads(json.dumps(lab.template_notebook(name)), as_version=4)
        nbformat.validate(nb)
        assert nb.metadata.kernelspec.name == "python3"
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
        assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")


def test_unknown_template_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="glucose_patient_twin, traffic_twin"):
        lab.template_notebook("../pyproject")


def test_packaging_maps_the_extension_and_the_server_config() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    shared = project["tool"]["hatch"]["build"]["targets"]["wheel"]["shared-data"]
    assert shared["twinlab/labextension"] == "share/jupyter/labextensions/twinlab"
    assert shared["jupyter-config/server-config"] == "etc/jupyter/jupyter_server_config.d"
    package = json.loads((ROOT / "extensions" / "jupyterlab" / "package.json").read_text())
    assert package["name"] == "twinlab"
    assert (ROOT / "extensions" / "jupyterlab" / package["jupyterlab"]["outputDir"]).resolve() == (
        ROOT / "twinlab" / "labextension"
    )
    config = json.loads((ROOT / "jupyter-config" / "server-config" / "twinlab.json").read_text())
    assert config == {"ServerApp": {"jpserver_extensions": {"twinlab.lab": True}}}
    assert lab._jupyter_labextension_paths() == [{"src": "labextension", "dest": "twinlab"}]
    assert lab._jupyter_server_extension_points() == [{"module": "twinlab.lab"}]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["traffic_twin"])  # the glucose template runs in tests/browser/test_jupyterlab.py
def test_template_executes(name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from nbclient import NotebookClient

    monkeypatch.setenv("TWINLAB_SMOKE", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    nb = nbformat.reads(json.dumps(lab.template_notebook(name)), as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors
