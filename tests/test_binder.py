"""Binder and the conda environment describe one environment, and it is the one pyproject.toml defines."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
EXTRAS = {"lab", "dashboards"}


def _conda(path: Path) -> tuple[dict[str, str], list[str]]:
    """The conda packages (name -> version spec) and the pip lines of an environment file."""
    env = yaml.safe_load(path.read_text())
    assert env["channels"] == ["conda-forge"]
    conda, pip = {}, []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip.extend(dep["pip"])
        else:
            m = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*(.*)", dep)
            assert m is not None, dep
            conda[m.group(1)] = m.group(2)
    return conda, pip


def _installed_extras(line: str) -> set[str]:
    m = re.fullmatch(r"\"?\.\[([a-z,\s]+)\]\"?", line.strip())
    assert m is not None, f"{line!r}: install the package itself (`.[extras]`), never its dependencies one by one"
    return {e.strip() for e in m.group(1).split(",")}


def test_both_environments_have_the_same_conda_layer() -> None:
    root, root_pip = _conda(ROOT / "environment.yml")
    binder, binder_pip = _conda(ROOT / "binder" / "environment.yml")
    assert root == binder
    assert set(root) == {"python", "nodejs", "pip"}
    assert PROJECT["requires-python"] == ">" + root["python"], "python= follows requires-python"
    assert binder_pip == [], "Binder installs twinlab in postBuild, as a user does"
    assert len(root_pip) == 1 and _installed_extras(root_pip[0]) == EXTRAS


def test_binder_installs_the_package_as_a_user_does() -> None:
    post_build = (ROOT / "binder" / "postBuild").read_text()
    installs = re.findall(r"pip install (?:--\S+ )*(\S+)", post_build)
    assert len(installs) == 1 and _installed_extras(installs[0]) == EXTRAS
    extras = PROJECT["optional-dependencies"]
    assert set(extras) >= EXTRAS, "the extras Binder installs exist in pyproject.toml"
    assert any(r.startswith("jupyterlab") for r in extras["lab"])
    assert any(r.startswith("jupyter-server-proxy") for r in extras["lab"])
    assert any(r.startswith("panel") for r in extras["dashboards"])
    assert "/lab/tree/notebooks/" in post_build, "Binder opens on the notebooks"
    assert (ROOT / "notebooks" / "README.md").is_file()


def test_binder_scripts_are_executable_and_start_passes_through() -> None:
    for name in ("postBuild", "start"):
        path = ROOT / "binder" / name
        assert path.stat().st_mode & 0o111, f"binder/{name} must be executable"
        assert path.read_text().startswith("#!/usr/bin/env bash\n")
    start = (ROOT / "binder" / "start").read_text()
    assert start.rstrip().endswith('exec "$@"')
    assert "BOKEH_ALLOW_WS_ORIGIN" in start
    assert not (ROOT / "binder" / "requirements.txt").exists(), "one description of the environment, not two"


def test_binder_fetches_only_data_sets_it_can_download() -> None:
    from twinlab import datasets

    post_build = (ROOT / "binder" / "postBuild").read_text()
    lines = [ln.split("||")[0] for ln in post_build.splitlines() if ln.startswith("twinlab data --download")]
    names = [name for line in lines for name in line.split()[3:]]
    assert names, "Binder fetches the downloadable data sets"
    assert len(names) == len(set(names)), "each data set is fetched once"
    for name in names:
        ds = datasets.DATASETS[name]
        assert set(ds.urls) == set(ds.files), f"{name} has files without a download address: the build would fail"
    downloadable = {n for n, ds in datasets.DATASETS.items() if ds.urls and set(ds.urls) == set(ds.files)}
    assert set(names) == downloadable, "Binder fetches every data set that can be downloaded"
