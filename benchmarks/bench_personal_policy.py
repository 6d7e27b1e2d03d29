"""Personal against population dosing: MPC over one person's posterior, and MPC over their age group's cohort.

    python benchmarks/bench_personal_policy.py --names adult#002 adolescent#004 child#003 --days 2

For each named virtual patient (the person whose twin is built):

1. a record of ``--record-days`` days: random meal days (`tl.glucose.random_meals`, seed 100), a bolus of carbs /
   the person's carb ratio at each meal, the person's own basal, CGM every 5 minutes with 8 mg/dL reading noise,
   all simulated from the person's true parameters (the data a clinic would have);
2. the personalised twin: `bayes.personalise` on that record, free ``--free`` (default kp2, Vmx, kabs), every other
   parameter at the age group's reference patient (`bayes.reference_patient`), never at the truth;
3. the personal policy: `MPC.from_posterior` (8 draws); the population policy: the same MPC over the age group's
   other virtual patients (the person left out: a population twin has never seen them); both behind the age
   group's `SafetyLayer`, and the basal-bolus rule behind the same layer for reference;
4. each policy run on the person for ``--days`` days (`control.evaluate`, seed 0: meal days and sensor noise not in
   the record, the same for every policy), scored on the true glucose of every minute.

The per-person table and the cohort mean are printed; the claim "personal beats population" is the risk index
(Kovatchev's, lower is better) and time in range of the personal MPC against the population MPC, person by person.
"""

from __future__ import annotations

import argparse
import time

import jax
import numpy as np
import pandas as pd

jax.config.update("jax_enable_x64", True)

import twinlab as tl  # noqa: E402
from twinlab import bayes, control  # noqa: E402

MODEL = tl.glucose.UVAPadova()
COLUMNS = ["tir_70_180_percent", "below_70_percent", "below_54_percent", "above_180_percent", "risk_index"]


def group_of(name: str) -> str:
    """The age group of a virtual patient's name ("adult#003" -> "adult")."""
    return name.split("#")[0]


def record_of(name: str, days: float, seed: int) -> tl.glucose.GlucoseRecord:
    """``days`` days of a virtual patient's CGM (every 5 min, 8 mg/dL noise) under their own therapy settings."""
    true = tl.glucose.patient(name)
    minutes = int(days * 1440)
    meals = [(m, g) for m, g in tl.glucose.random_meals(seed, days=int(np.ceil(days))) if m < minutes]
    carb_ratio = float(true.therapy.carb_ratio_g_per_u)
    schedule = tl.glucose.Schedule(meals=meals, boluses=[(m, g / carb_ratio) for m, g in meals])
    bg = np.asarray(tl.glucose.simulate(MODEL, true, schedule, minutes=minutes).bg)
    t = np.arange(0, minutes, 5)
    y = bg[t] + np.random.default_rng(seed).normal(0.0, 8.0, t.size)
    return tl.glucose.GlucoseRecord(t.astype(float), y, schedule, minutes=minutes, subject=name, source="simulated")


def compare(name: str, args: argparse.Namespace) -> pd.DataFrame:
    """One person's rows: basal-bolus, population MPC and personal MPC, each behind the age group's safety layer."""
    group = group_of(name)
    t0 = time.perf_counter()
    record = record_of(name, args.record_days, seed=100)
    post = bayes.personalise(
        MODEL, record, tuple(args.free), method=args.method, key=jax.random.key(1),
        base=bayes.reference_patient(group), num_warmup=args.warmup, num_samples=args.warmup,
    )  # fmt: skip
    fit_s = time.perf_counter() - t0
    print(f"{name}: {args.method} fit {fit_s:.0f} s, gate {'passed' if post.ok else 'withheld'}", flush=True)
    others = [n for n in tl.glucose.patient_names() if group_of(n) == group and n != name]
    population = control.MPC(tl.glucose.patients(others), iterations=args.iterations)
    personal = control.MPC.from_posterior(post, members=8, iterations=args.iterations)
    policies = {
        "basal-bolus": control.BasalBolus(),
        f"population MPC ({len(others)} others of the {group} group)": population,
        "personal MPC (8 posterior draws)": personal,
    }
    rows = []
    for label, policy in policies.items():
        t = time.perf_counter()
        safe = control.SafetyLayer.for_age_group(policy, group)
        row = control.evaluate(safe, [name], days=args.days, seed=0).table.loc[name, COLUMNS]
        rows.append({"person": name, "policy": label, **row.round(2).to_dict(), "seconds": time.perf_counter() - t})
        print(f"  {label}: {rows[-1]}", flush=True)
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--names", nargs="+", default=["adult#002", "adolescent#004", "child#003"])
    parser.add_argument("--record-days", type=float, default=1.0, help="days of data the twin is personalised on")
    parser.add_argument("--days", type=int, default=2, help="days each policy is evaluated on")
    parser.add_argument("--method", default="svi", choices=("svi", "nuts"))
    parser.add_argument("--free", nargs="+", default=["kp2", "Vmx", "kabs"])
    parser.add_argument("--warmup", type=int, default=300, help="NUTS warm-up and kept draws per chain")
    parser.add_argument("--iterations", type=int, default=6, help="MPC optimiser steps per decision")
    args = parser.parse_args()
    table = pd.concat([compare(n, args) for n in args.names], ignore_index=True)
    print(table.to_string(index=False))
    kind = table.policy.str.split(" ").str[0:2].str.join(" ")
    means = table.drop(columns="person").groupby(kind).mean(numeric_only=True)
    print("\nmean over people:\n" + means.round(2).to_string())
    personal = table[table.policy.str.startswith("personal")].set_index("person")
    population = table[table.policy.str.startswith("population")].set_index("person")
    better = (personal.risk_index < population.risk_index).sum()
    print(f"\npersonal MPC has the lower risk index for {better} of {len(personal)} people")


if __name__ == "__main__":
    main()
