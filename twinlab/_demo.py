"""The main job: the 30 virtual patients under the basal-bolus baseline, a metrics table and a plot."""

from __future__ import annotations

import io
import time
from pathlib import Path

import jax
import numpy as np

from twinlab._atomic import atomic_write_bytes
from twinlab.glucose import (
    BasalBolus,
    Schedule,
    UVAPadova,
    metrics_table,
    patient_names,
    patients,
    random_meals,
    simulate_closed_loop,
)

COLUMNS = {
    "tir_70_180_percent": "TIR %",
    "below_70_percent": "<70 %",
    "below_54_percent": "<54 %",
    "above_180_percent": ">180 %",
    "above_250_percent": ">250 %",
    "mean_mg_dl": "mean mg/dL",
    "lbgi": "LBGI",
    "hbgi": "HBGI",
    "risk_index": "RI",
}


def run_demo(out: str | Path = "out", days: int = 1, seed: int = 0, sensor_noise: bool = True) -> Path:
    """Simulate all 30 virtual patients for ``days`` days of random meals under the basal-bolus controller.

    Meals follow the reference simulator's random day (six slots with its probabilities, times and sizes), the
    controller sees a Dexcom CGM with noise (seeded) and doses through an Insulet pump.

    Returns:
        The folder holding ``demo_metrics.csv`` and ``demo.png``.
    """
    out = Path(out)
    names = patient_names()
    meals = random_meals(seed, days=days)
    print(
        f"twinlab demo: {len(names)} virtual patients, {days} day(s), basal-bolus controller, "
        f"{'noisy' if sensor_noise else 'noise-free'} Dexcom CGM (seed {seed})"
    )
    print("meals (minute, g):", ", ".join(f"({m}, {g:.0f})" for m, g in meals))

    start = time.perf_counter()
    traj = simulate_closed_loop(
        UVAPadova(),
        patients(names),
        BasalBolus(),
        Schedule(meals=meals),
        minutes=1440 * days,
        key=jax.random.key(seed),
        sensor_noise=sensor_noise,
        names=names,
    )
    traj.bg.block_until_ready()
    elapsed = time.perf_counter() - start
    print(f"simulated {len(names) * days} patient-days in {elapsed:.2f} s (compilation included)\n")

    table = metrics_table(traj.bg, names=names)
    shown = table[list(COLUMNS)].rename(columns=COLUMNS)
    cohort = shown.groupby(shown.index.str.split("#").str[0]).mean()
    print(shown.round(1).to_string())
    print("\ncohort means:")
    print(cohort.round(1).to_string())

    atomic_write_bytes(out / "demo_metrics.csv", table.to_csv(index_label="patient").encode())
    atomic_write_bytes(out / "demo.png", _plot(np.asarray(traj.t), np.asarray(traj.bg), names))
    print(f"\nwrote {out / 'demo_metrics.csv'} and {out / 'demo.png'}")
    return out


def _plot(t_min: np.ndarray, bg: np.ndarray, names: list[str]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, 1, figsize=(10, 8), sharex=True, sharey=True)
    groups = {"adolescent": "adolescents", "adult": "adults", "child": "children"}
    for ax, (group, title) in zip(axes, groups.items(), strict=True):
        for i, name in enumerate(names):
            if name.startswith(group):
                ax.plot(t_min / 60, bg[i], lw=0.8, label=name.split("#")[1])
        ax.axhspan(70, 180, color="tab:green", alpha=0.1)
        ax.set_ylabel("glucose [mg/dL]")
        ax.set_title(title, loc="left")
        ax.legend(ncol=10, fontsize=7, loc="upper right")
    axes[-1].set_xlabel("hours")
    fig.suptitle("UVA/Padova virtual patients under basal-bolus control (green: 70-180 mg/dL)")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()
