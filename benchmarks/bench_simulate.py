"""Simulated patient-days per second: twinlab (jit + vmap) against simglucose, in one run on one machine.

Run: ``.venv/bin/python benchmarks/bench_simulate.py [--batches 1 30 300 3000] [--reference-days 3]``.
Prints a table and the ratio to simglucose's own patient model; the fidelity column is the largest |BG difference|
from simglucose (mg/dL, every minute of the compared patient-days) for the dtype measured.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import twinlab as tl  # noqa: E402
from tests.glucose.reference import simglucose_bg  # noqa: E402

MINUTES = 1440
SCHEDULE = tl.glucose.Schedule(
    meals=[(420, 45.0), (720, 70.0), (900, 10.0), (1080, 80.0)], boluses=[(420, 4.0), (720, 6.0), (1080, 7.0)]
)


def reference(names: list[str]) -> tuple[np.ndarray, float]:
    """simglucose BG for each patient, and its seconds per patient-day."""
    bgs, start = [], time.perf_counter()
    for name in names:
        p = tl.glucose.patient(name)
        cho, bolus, rate, own = SCHEDULE.arrays(MINUTES)
        insulin = np.asarray(tl.glucose.schedule_inputs(p, cho, bolus, rate, own).insulin_u_per_min)
        bgs.append(simglucose_bg(name, cho, insulin))
    return np.stack(bgs), (time.perf_counter() - start) / len(names)


def population(batch: int, dtype: jnp.dtype) -> tuple[tl.glucose.PatientParams, list[str]]:
    names = tl.glucose.patient_names()
    chosen = [names[i % len(names)] for i in range(batch)]
    return tl.glucose.patients(chosen, dtype=dtype), chosen


def measure(batch: int, dtype: jnp.dtype, repeats: int = 3) -> tuple[float, float, np.ndarray, list[str]]:
    """Compile seconds, best steady-state seconds, the BG array and the names, for one batch size."""
    model = tl.glucose.UVAPadova()
    params, names = population(batch, dtype)
    start = time.perf_counter()
    bg = tl.glucose.simulate(model, params, SCHEDULE, MINUTES).bg.block_until_ready()
    first = time.perf_counter() - start
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        bg = tl.glucose.simulate(model, params, SCHEDULE, MINUTES).bg.block_until_ready()
        best = min(best, time.perf_counter() - start)
    return first - best, best, np.asarray(bg, np.float64), names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 30, 300, 3000])
    parser.add_argument("--reference-days", type=int, default=3, help="simglucose patient-days to time")
    args = parser.parse_args()

    ref_names = tl.glucose.patient_names()[:: max(1, 30 // args.reference_days)][: args.reference_days]
    ref_bg, ref_s_per_day = reference(ref_names)
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"jax {jax.__version__} on {jax.default_backend()}"
    )
    print(
        f"simglucose 0.2.11 patient model: {ref_s_per_day:.2f} s per patient-day "
        f"({1 / ref_s_per_day:.3f} patient-days/s; {len(ref_names)} patient-days timed)"
    )
    print(
        f"{'dtype':8} {'batch':>6} {'compile s':>10} {'run s':>9} {'patient-days/s':>15} {'x simglucose':>13} "
        f"{'max |dBG| mg/dL':>16}"
    )
    for dtype in (jnp.float32, jnp.float64):
        for batch in args.batches:
            compile_s, run_s, bg, names = measure(batch, dtype)
            rows = [names.index(n) for n in ref_names if n in names]
            fidelity = (
                np.abs(bg[rows] - ref_bg[[ref_names.index(names[r]) for r in rows]]).max() if rows else float("nan")
            )
            rate = batch / run_s
            print(
                f"{jnp.dtype(dtype).name:8} {batch:6d} {compile_s:10.2f} {run_s:9.4f} {rate:15.1f} "
                f"{rate * ref_s_per_day:13.0f} {fidelity:16.4f}"
            )


if __name__ == "__main__":
    main()
