"""Dosing policies on the 30 virtual patients, and environment throughput, against simglucose in the same run.

Run: ``.venv/bin/python benchmarks/bench_control.py [--days 3] [--seed 0] [--apg-steps 200] [--batches 1 64 1024 4096]``
``[--mpc [--mpc-horizon MIN --mpc-blocks B --mpc-iterations I --mpc-max-basal F --mpc-offset-gain G``
``--mpc-correction C --mpc-guard MG_DL] [--skip-baselines]]``.

1. Throughput: decisions (3-minute steps) per second of `GlucoseEnv.step` (jit + vmap) by batch size, against
   simglucose's ``T1DSimEnv.step`` (the loop inside its gym environment), and the ratio.
2. Policies: every patient, ``--days`` days of random meals (``--seed``, default 0), Dexcom noise on, the policy
   seeing only the CGM and announced meals: simglucose's ``BBController`` run in simglucose itself on the same meals;
   our basal-bolus rule, with and without the safety layer; our PID; a policy trained by analytic policy gradients
   (``--apg-steps`` Adam steps on 1-day episodes of all 30 patients, seed 1, wall time printed), behind the
   safety layer; with ``--mpc``, model-predictive control whose ensemble is each patient's own parameters (an ideal
   personalised twin, K = 1; the upper bound of what personalisation can give this controller), behind the safety
   layer. Cohort means, and the worst patient's time below 54 and 70 mg/dL. With ``--mpc`` it also prints MPC's
   table per patient, its gain in time in range over basal-bolus, and whether the issue's goal is met.
   ``--skip-baselines`` leaves out throughput, simglucose, PID and APG (basal-bolus stays, for the gain).
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
import warnings
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import twinlab as tl  # noqa: E402
from twinlab import control  # noqa: E402

COLUMNS = ["tir_70_180_percent", "below_70_percent", "below_54_percent", "above_180_percent", "above_250_percent",
           "lbgi", "hbgi", "risk_index"]  # fmt: skip


def _simglucose():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from simglucose.actuator.pump import InsulinPump
        from simglucose.controller.basal_bolus_ctrller import BBController
        from simglucose.patient.t1dpatient import T1DPatient
        from simglucose.sensor.cgm import CGMSensor
        from simglucose.simulation.env import T1DSimEnv
        from simglucose.simulation.scenario import CustomScenario
    return InsulinPump, BBController, T1DPatient, CGMSensor, T1DSimEnv, CustomScenario


def simglucose_env(name: str, meals: np.ndarray, seed: int):
    InsulinPump, _, T1DPatient, CGMSensor, T1DSimEnv, CustomScenario = _simglucose()
    start = datetime(2025, 1, 1, 0, 0)
    minutes = np.nonzero(meals)[0]
    events = [(timedelta(minutes=int(m)), float(meals[m])) for m in minutes]
    scenario = CustomScenario(start_time=start, scenario=events)
    sensor = CGMSensor.withName("Dexcom", seed=seed)
    return T1DSimEnv(T1DPatient.withName(name), sensor, InsulinPump.withName("Insulet"), scenario), start


def simglucose_bb(names: list[str], meals: np.ndarray, days: int, seed: int = 0) -> tuple[pd.DataFrame, float]:
    """simglucose's BBController in its own T1DSimEnv; true BG at every sample after the first hour."""
    _, BBController, *_ = _simglucose()
    bgs, steps, start_t = [], 0, time.perf_counter()
    for i, name in enumerate(names):
        env, start = simglucose_env(name, meals[i], seed=seed * len(names) + i)
        ctrl = BBController()
        obs, reward, done, info = env.reset()
        bg = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            while env.time < start + timedelta(minutes=1440 * days):
                obs, reward, done, info = env.step(ctrl.policy(obs, reward, done, **info))
                bg.append(env.patient.observation.Gsub)
                steps += 1
        bgs.append(np.array(bg)[20:])  # the first hour, as our warm-up
    seconds = time.perf_counter() - start_t
    table = tl.glucose.metrics_table(np.maximum(np.stack(bgs), 1.0), names=names)
    table.loc["cohort mean"] = table.mean(numeric_only=True)
    return table, steps / seconds


def env_throughput(batches: list[int]) -> list[tuple[int, float]]:
    env = control.GlucoseEnv(tl.glucose.patients(tl.glucose.patient_names()), days=1)
    out = []
    for batch in batches:
        states = jax.jit(jax.vmap(env.reset))(jax.random.split(jax.random.key(0), batch))
        step = jax.jit(jax.vmap(env.step))
        action = jnp.zeros((batch, 2))

        def run(s, step=step, action=action, n=20):
            for _ in range(n):
                s = step(s, action)
            return jax.block_until_ready(s)

        states = run(states, n=1)
        t = time.perf_counter()
        run(states)
        out.append((batch, 20 * batch / (time.perf_counter() - t)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0, help="the meal days' and sensor noise's seed")
    parser.add_argument("--apg-steps", type=int, default=200)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64, 1024, 4096])
    parser.add_argument("--mpc", action="store_true", help="also evaluate per-patient MPC (slow: ~15 s/patient-day)")
    parser.add_argument("--mpc-horizon", type=int, default=None, help="MPC horizon_min (default: MPC's own)")
    parser.add_argument("--mpc-blocks", type=int, default=None, help="MPC basal blocks over the horizon")
    parser.add_argument("--mpc-iterations", type=int, default=None, help="MPC Adam steps per decision")
    parser.add_argument("--mpc-max-basal", type=float, default=None, help="MPC max_basal_factor")
    parser.add_argument("--mpc-offset-gain", type=float, default=None, help="MPC offset_gain")
    parser.add_argument("--mpc-correction", type=float, default=None, help="MPC correction_fraction")
    parser.add_argument("--mpc-guard", type=float, default=None, help="MPC correction_guard_mg_dl")
    parser.add_argument("--skip-baselines", action="store_true", help="only the MPC row (with --mpc)")
    args = parser.parse_args()
    names = tl.glucose.patient_names()
    print(f"machine: {platform.processor() or platform.machine()}, {jax.device_count()} JAX device(s), "
          f"JAX {jax.__version__}; days {args.days}, seed {args.seed}")  # fmt: skip

    rows = {}
    if not args.skip_baselines:
        ours = env_throughput(args.batches)
        meals = control.meals_of(names, args.days, args.seed)
        ref_table, ref_rate = simglucose_bb(names, meals, args.days, args.seed)
        print("\nThroughput (3-minute decisions per second)")
        print(f"  simglucose T1DSimEnv.step: {ref_rate:,.0f}/s")
        for batch, rate in ours:
            print(f"  GlucoseEnv.step batch {batch:5d}: {rate:,.0f}/s  ({rate / ref_rate:,.0f}x)")
        rows["simglucose BBController (in simglucose)"] = ref_table
    rows["basal-bolus"] = control.evaluate(control.BasalBolus(), names, days=args.days, seed=args.seed).table
    # Behind the safety layer every patient gets the hard limits of their own age group (children 5 U a bolus).
    guarded = {"basal-bolus + safety": control.BasalBolus()}
    if not args.skip_baselines:
        t = time.perf_counter()
        pump = tl.glucose.InsulinPump.named("Insulet", straight_through=True)
        train_env = control.GlucoseEnv(tl.glucose.patients(names), days=1, pump=pump,
                                       safety=control.SafetyLayer.for_age_group(None, "adult"))  # fmt: skip
        apg = control.train(train_env, "apg", key=jax.random.key(1), steps=args.apg_steps, batch=8)
        train_s = time.perf_counter() - t
        guarded["PID + meal bolus + safety"] = control.PID()
        guarded[f"APG ({args.apg_steps} steps, {train_s:.0f} s) + safety"] = apg
    for label, policy in guarded.items():
        safe = control.SafetyLayer.for_patients(policy, names)
        rows[label] = control.evaluate(safe, names, days=args.days, seed=args.seed, stacked=True).table
    if args.mpc:
        settings = {"horizon_min": args.mpc_horizon, "blocks": args.mpc_blocks, "iterations": args.mpc_iterations,
                    "max_basal_factor": args.mpc_max_basal, "offset_gain": args.mpc_offset_gain,
                    "correction_fraction": args.mpc_correction, "correction_guard_mg_dl": args.mpc_guard}  # fmt: skip
        settings = {k: v for k, v in settings.items() if v is not None}
        print(f"MPC settings (others at MPC's defaults): {settings}")
        own = [control.SafetyLayer.for_age_group(control.MPC(tl.glucose.patients([n]), **settings), n.split("#")[0])
               for n in names]  # fmt: skip
        t = time.perf_counter()
        mpc = control.evaluate(control.stack_policies(own), names, days=args.days, seed=args.seed, stacked=True).table
        rows[f"MPC, own parameters ({time.perf_counter() - t:.0f} s) + safety"] = mpc
    summary = pd.DataFrame({label: t.loc["cohort mean", COLUMNS] for label, t in rows.items()}).T
    summary["worst_below_54"] = [t.drop(index="cohort mean")["below_54_percent"].max() for t in rows.values()]
    summary["worst_below_70"] = [t.drop(index="cohort mean")["below_70_percent"].max() for t in rows.values()]
    pd.set_option("display.width", 200)
    print(f"\nPolicies on the 30 virtual patients, {args.days} days, cohort means")
    print(summary.round(2).to_string())
    if args.mpc:
        body = mpc.drop(index="cohort mean")
        tir = "tir_70_180_percent"
        gain = mpc.loc["cohort mean", tir] - rows["basal-bolus"].loc["cohort mean", tir]
        print(f"\nMPC per patient:\n{body[COLUMNS[:5]].round(2).to_string()}")
        met = gain >= 10 and body["below_54_percent"].max() < 1 and body["below_70_percent"].max() < 4
        print(f"MPC time in range over basal-bolus: {gain:+.2f} points; worst patient below 54: "
              f"{body['below_54_percent'].max():.2f} %, below 70: {body['below_70_percent'].max():.2f} %; "
              f"goal (+10 points, every patient < 1 % below 54 and < 4 % below 70) met: {met}")  # fmt: skip


if __name__ == "__main__":
    main()
