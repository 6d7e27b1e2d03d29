"""twinlab's XLA defaults: added before the CPU backend starts, never over the user's own setting."""

import os
import subprocess
import sys

import pytest

from twinlab import _xla


def _flags_after_import(env: dict[str, str], code: str = "import twinlab") -> str:
    script = f"{code}\nimport os\nprint(os.environ.get('XLA_FLAGS', ''))"
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env["JAX_PLATFORMS"] = "cpu"
    return env


def test_import_adds_the_cpu_fusion_flag() -> None:
    assert _flags_after_import(_clean_env()) == _xla.CPU_FUSION_FLAG


def test_the_users_flags_are_kept_and_their_choice_wins() -> None:
    env = _clean_env()
    env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
    assert _flags_after_import(env) == f"--xla_force_host_platform_device_count=2 {_xla.CPU_FUSION_FLAG}"
    env["XLA_FLAGS"] = "--xla_cpu_use_fusion_emitters=true"
    assert _flags_after_import(env) == "--xla_cpu_use_fusion_emitters=true"


def test_nothing_changes_once_a_backend_runs() -> None:
    code = "import jax, jax.numpy as jnp\njnp.ones(1).block_until_ready()\nimport twinlab"
    assert _flags_after_import(_clean_env(), code) == ""


def test_backend_started_is_seen_in_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    import jax.numpy as jnp

    jnp.ones(1).block_until_ready()
    monkeypatch.setenv("XLA_FLAGS", "")
    assert _xla.apply_cpu_compiler_defaults() is False
    assert os.environ["XLA_FLAGS"] == ""
