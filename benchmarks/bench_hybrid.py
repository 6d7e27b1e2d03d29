"""A GNN-corrected mechanistic model against the mechanistic model alone, on held-out days with exercise.

    python benchmarks/bench_hybrid.py                 # the full study (4 training days, 300 Adam steps each)
    python benchmarks/bench_hybrid.py --steps 50      # quicker

Synthetic reality: adult#001 under `tl.glucose.ExerciseUVAPadova` (UVA/Padova plus a heart-rate driven exercise
effect the base model lacks), CGM with Gaussian noise (SD 6 mg/dL) every 5 minutes. Both twins start from the same
misspecified patient (Vm0 x 0.8, Vmx x 1.25) and are fitted the same way (Adam on 60-minute forecast windows from
known start states, the CGM readings as targets): the base model fits Vm0 and Vmx; the hybrid fits Vm0, Vmx and its
residual network together. Score: RMSE (mg/dL) of 120-minute forecasts from every 30th minute of the held-out days
against the true glucose, split into the two exercise days and the rest day.
"""

from __future__ import annotations

import argparse
import os

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)

import twinlab as tl  # noqa: E402
from twinlab import hybrid  # noqa: E402


def rmse(values: np.ndarray) -> float:
    """Root mean square of per-window RMSEs (= the RMSE over all forecast minutes, windows being equal length)."""
    return float(np.sqrt(np.mean(np.square(values))))


def main() -> None:
    """Fit both twins, print the held-out errors and the training times."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--train-days", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    patient = tl.glucose.patient("adult#001")
    study = hybrid.exercise_study(patient, train_days=args.train_days, seed=args.seed)
    prior = patient.replace(Vm0=patient.Vm0 * 0.8, Vmx=patient.Vmx * 1.25)
    model, params = hybrid.init_hybrid(prior, seed=args.seed)
    base = model.replace(use_residual=False)
    train = hybrid.windows(study.train, model, hr_rest_bpm=60.0, horizon_min=60, every_min=15)
    test = hybrid.windows(study.held_out, model, hr_rest_bpm=60.0, horizon_min=120, every_min=30)
    print(f"{os.cpu_count()} CPUs | {train.count} training windows (60 min), {test.count} held-out windows (120 min)")

    fits = {
        "base model alone": hybrid.fit(base, params, train, steps=args.steps, learning_rate=2e-2, seed=args.seed),
        "base + GNN residual": hybrid.fit(model, params, train, steps=args.steps, learning_rate=3e-3, seed=args.seed),
    }
    day = np.asarray(test.day)
    print("\n| twin | held-out RMSE, all (mg/dL) | exercise days | rest day | Vm0 x | Vmx x | train (s) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    r = hybrid.forecast_rmse(base, params, test)
    print(f"| prior, unfitted | {rmse(r):.2f} | {rmse(r[day < 2]):.2f} | {rmse(r[day == 2]):.2f} | 0.80 | 1.25 | - |")
    for name, result in fits.items():
        r = hybrid.forecast_rmse(base if name.startswith("base model") else model, result.params, test)
        vm0 = float(result.params.patient.Vm0 / patient.Vm0)
        vmx = float(result.params.patient.Vmx / patient.Vmx)
        print(
            f"| {name} | {rmse(r):.2f} | {rmse(r[day < 2]):.2f} | {rmse(r[day == 2]):.2f} | {vm0:.2f} | {vmx:.2f} "
            f"| {result.seconds:.1f} |"
        )


if __name__ == "__main__":
    main()
