"""XLA settings twinlab applies before JAX starts its CPU backend.

XLA's CPU compiler emits fused kernels through MLIR by default (``xla_cpu_use_fusion_emitters``). For twinlab's
programs (many small fusions: a patient model integrated minute by minute, differentiated through whole episodes)
that path costs about three times the compile memory of the classic emitters, with no gain at run time
(``benchmarks/bench_xla_cpu.py``: the gradient of a one-day closed-loop episode compiles in 155 MiB instead of
528 MiB, and a 30-patient day runs as fast). Binder gives a notebook 1-2 GB, so twinlab turns the MLIR emitters
off, unless the user's ``XLA_FLAGS`` already set that option or a JAX backend is already running (then the setting
could not take effect and nothing is changed).
"""

from __future__ import annotations

import os
import sys

#: The option and the value twinlab adds to ``XLA_FLAGS``.
CPU_FUSION_FLAG = "--xla_cpu_use_fusion_emitters=false"


def _backend_started() -> bool:
    if "jax" not in sys.modules:
        return False
    from jax._src import xla_bridge

    return bool(xla_bridge.backends_are_initialized())


def apply_cpu_compiler_defaults() -> bool:
    """Add `CPU_FUSION_FLAG` to ``XLA_FLAGS`` when it can still take effect; True when it was added."""
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_cpu_use_fusion_emitters" in flags or _backend_started():
        return False
    os.environ["XLA_FLAGS"] = f"{flags} {CPU_FUSION_FLAG}".strip()
    return True
