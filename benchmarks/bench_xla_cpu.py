"""XLA's CPU fusion emitters: compile memory and run time with twinlab's default against XLA's, same run.

    python benchmarks/bench_xla_cpu.py

Each setting runs in a fresh process (XLA reads its flags once): the gradient of a one-day closed-loop episode
(`control.rollout` of a network policy behind the safety layer, what ``train(..., "apg")`` compiles) is lowered
and compiled, and the growth of the process's peak resident set over the compile is reported; then a one-day
basal-bolus evaluation of the 30 virtual patients is timed after its compile (median of 3).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

CHILD = r"""
import json, time
import jax, jax.numpy as jnp
jax.config.update("jax_enable_x64", True)
import twinlab as tl
from twinlab import control
from twinlab.control._policies import NetworkPolicy
from twinlab.control._rollout import rollout

def peak_mib():
    return int([l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]) / 1024

def rss_mib():
    return int([l for l in open("/proc/self/status") if l.startswith("VmRSS")][0].split()[1]) / 1024

names = tl.glucose.patient_names()
pump = tl.glucose.InsulinPump.named("Insulet", straight_through=True)
env = control.GlucoseEnv(tl.glucose.patients(names[:3]), days=1, pump=pump,
                         safety=control.SafetyLayer.for_age_group(None, "adult"))
policy = NetworkPolicy.create(jax.random.key(0), env.history_len)
grad = jax.jit(jax.grad(lambda p, k: rollout(env, policy.replace(params=p), k, 0).reward.sum()))
lowered = grad.lower(policy.params, jax.random.key(1))
before = rss_mib()
t = time.perf_counter()
lowered.compile()
compile_s = time.perf_counter() - t
compile_mib = peak_mib() - before
control.evaluate(control.BasalBolus(), names, days=1, seed=0)
runs = []
for seed in (1, 2, 3):
    t = time.perf_counter()
    control.evaluate(control.BasalBolus(), names, days=1, seed=seed)
    runs.append(time.perf_counter() - t)
print(json.dumps({"compile_mib": compile_mib, "compile_s": compile_s, "evaluate_s": sorted(runs)[1],
                  "flags": __import__("os").environ.get("XLA_FLAGS", "")}))
"""


def run(flags: str) -> dict[str, float]:
    env = {**os.environ, "XLA_FLAGS": flags, "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    from twinlab._xla import CPU_FUSION_FLAG

    ours = run(CPU_FUSION_FLAG)
    xla = run("--xla_cpu_use_fusion_emitters=true")
    print("| setting | APG gradient compile: peak growth (MiB) | compile (s) | 30 patients x 1 day (s) |")
    print("|---|---:|---:|---:|")
    for label, r in (("twinlab (" + CPU_FUSION_FLAG + ")", ours), ("XLA default (fusion emitters on)", xla)):
        print(f"| {label} | {r['compile_mib']:.0f} | {r['compile_s']:.1f} | {r['evaluate_s']:.3f} |")
    print(f"\ncompile memory ratio (XLA default / twinlab): {xla['compile_mib'] / ours['compile_mib']:.2f}")
    print(f"evaluation time ratio (XLA default / twinlab): {xla['evaluate_s'] / ours['evaluate_s']:.2f}")


if __name__ == "__main__":
    main()
