"""The package itself: one pinned version set, light imports, the command line."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import twinlab
from twinlab.cli import main

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _pins() -> dict[str, str]:
    """Every `name==version` requirement in pyproject.toml (dependencies and extras)."""
    reqs = list(PYPROJECT["project"]["dependencies"])
    for extra in PYPROJECT["project"]["optional-dependencies"].values():
        reqs.extend(extra)
    pins = {}
    for req in reqs:
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==([^;\s]+)", req.strip())
        if m:
            pins.setdefault(m.group(1).lower(), m.group(3))
    return pins


def test_the_jax_stack_is_pinned_together() -> None:
    pins = _pins()
    assert pins["jax"] == pins["jaxlib"] == "0.9.2"  # brax 0.14.2's PPO breaks on JAX >= 0.10
    assert pins["flax"] == "0.12.6"
    assert pins["brax"] == "0.14.2"


def test_installed_versions_match_the_pins() -> None:
    mismatched = {}
    for name, version in _pins().items():
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue  # an extra not installed in this environment
        if installed.split("+")[0] != version:  # a local label (torch's "+cpu") names a build of the same release
            mismatched[name] = (version, installed)
    assert not mismatched, f"pinned vs installed: {mismatched}"
    import jax

    assert jax.__version__ == _pins()["jax"]


def test_environment_files_defer_to_pyproject() -> None:
    env = (ROOT / "environment.yml").read_text()
    binder = (ROOT / "binder" / "postBuild").read_text()
    python = re.search(r"python=(\d+\.\d+)", env)
    assert python is not None
    assert PYPROJECT["project"]["requires-python"] == f">={python.group(1)}"
    for text in (env, binder):
        for name in _pins():
            assert not re.search(rf"^\s*-?\s*{re.escape(name)}\s*[=<>]", text, re.M), f"{name} pinned twice"
        assert re.search(r"\"\.\[", text), "install the package itself, with pins from pyproject.toml"


def test_version_is_one_string() -> None:
    assert twinlab.__version__ == importlib.metadata.version("twinlab")


def test_import_twinlab_is_light() -> None:
    code = (
        "import sys, twinlab, twinlab.glucose;"
        "heavy = [m for m in ('numpyro', 'jraph', 'panel', 'holoviews', 'bokeh', 'anywidget', 'ipywidgets',"
        " 'brax', 'diffrax', 'matplotlib', 'xarray', 'pandas', 'scipy', 'simglucose') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import twinlab pulled in: {out.stdout.strip()}"


def test_lazy_subpackages() -> None:
    assert "glucose" in dir(twinlab)
    with pytest.raises(AttributeError, match="subpackages"):
        _ = twinlab.nonexistent


def test_cli_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"twinlab {twinlab.__version__}"


def test_cli_without_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "demo" in capsys.readouterr().err


def test_cli_demo_writes_table_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import csv

    assert main(["demo", "--out", str(tmp_path), "--seed", "3"]) == 0
    printed = capsys.readouterr().out
    assert "cohort means" in printed and "adult#010" in printed
    rows = list(csv.DictReader((tmp_path / "demo_metrics.csv").read_text().splitlines()))
    assert [r["patient"] for r in rows] == twinlab.glucose.patient_names()
    assert all(0.0 <= float(r["tir_70_180_percent"]) <= 100.0 for r in rows)
    assert (tmp_path / "demo.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp_path.glob(".*.tmp")), "atomic writes leave no temporary files"


def test_cli_demo_rejects_bad_days() -> None:
    with pytest.raises(SystemExit):
        main(["demo", "--days", "0"])
