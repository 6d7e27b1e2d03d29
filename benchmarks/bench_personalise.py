"""Personalisation benchmarks: time to personalise (NUTS, SVI), assimilation latency, and real-patient forecasts.

    python benchmarks/bench_personalise.py speed     # NUTS and SVI on a synthetic patient; assimilation, 1 and N people
    python benchmarks/bench_personalise.py real      # held-out 30/60-minute forecast error on the real patients
    python benchmarks/bench_personalise.py refit     # assimilation against a full refit: forecast scores and time

`refit`: synthetic people (virtual patients with known parameters; the model's fixed parameters are their age
group's reference patient, as for a real person) are personalised on their first hours of CGM; then new readings
arrive. At each checkpoint the same posterior is brought up to date three ways: (a) `assimilate`, reading stretch by
stretch (the particle filter), (b) a full refit by `personalise` on everything so far (same method and settings as
the first fit), (c) no update (the first posterior's particles carried forward through the inputs, readings ignored).
Each then forecasts the next hour under the known inputs, scored on the held-out readings by CRPS (mg/dL, lower is
better) and log score (mean log predictive density, higher is better); persistence (the last reading) is the point
reference (its CRPS is its absolute error). Time per update: assimilation per reading (after compilation) against
the refit's wall time (which includes compiling for the longer record: the real cost of a refit).

`real`: for each real person with at least a day and a half of data, the first day personalises the twin (SVI,
free kp2, Vmx, kabs; population prior; adult reference patient for the rest), then the next 12 hours are replayed
through `assimilate`, forecasting 30 and 60 minutes ahead every 30 minutes from the newest reading. The twin runs
twice: as fitted (its states simulated through the fitted day) and refiltered (`Twin.refilter`: states filtered
through the day, model error tuned by the evidence). Compared in the same run: persistence (the last reading stays)
and the unpersonalised population model (the reference patient simulated on the person's own meals and insulin, its
state never corrected). Errors in mg/dL over all forecast origins; also the correlation between the refiltered
twin's predicted change (forecast minus its glucose now) and the real change, which says whether the model's
dynamics carry information beyond the current level.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)

import twinlab as tl  # noqa: E402
from twinlab import bayes  # noqa: E402

MODEL = tl.glucose.UVAPadova()


def _synthetic(minutes: int, seed: int = 0) -> tuple[tl.glucose.PatientParams, tl.glucose.GlucoseRecord]:
    true = tl.glucose.patient("adult#003")
    meals = [(m, g) for m, g in ((30, 50.0), (330, 70.0), (780, 60.0), (1140, 30.0)) if m % 1440 < 1440]
    day = [(d * 1440 + m, g) for d in range(minutes // 1440 + 1) for m, g in meals if d * 1440 + m < minutes]
    schedule = tl.glucose.Schedule(meals=day, boluses=[(m, g / 10.0) for m, g in day])
    bg = np.asarray(tl.glucose.simulate(MODEL, true, schedule, minutes=minutes).bg)
    t = np.arange(0, minutes, 5)
    y = bg[t] + np.random.default_rng(seed).normal(0.0, 8.0, t.size)
    return true, tl.glucose.GlucoseRecord(t.astype(float), y, schedule, minutes=minutes)


def speed(days: float, people: int, free: tuple[str, ...], warmup: int, draws: int) -> None:
    minutes = int(days * 1440)
    _, record = _synthetic(minutes + 60)
    fit, rest = record.split(minutes)
    print(f"{days:g} days of 5-minute CGM ({fit.cgm_minute.size} readings), free {', '.join(free)}", flush=True)
    for method in ("svi", "nuts"):
        t0 = time.perf_counter()
        post = bayes.personalise(MODEL, fit, free, method=method, key=jax.random.key(0), num_warmup=warmup,
                                 num_samples=draws)  # fmt: skip
        print(f"{method}: {time.perf_counter() - t0:.1f} s, gate {'passed' if post.ok else 'withheld'}", flush=True)
        print(post.diagnostics, flush=True)
        if method == "svi":
            _assimilation_latency(post, rest, people)


def _assimilation_latency(post: bayes.Posterior, rest: tl.glucose.GlucoseRecord, people: int) -> None:
    """Time to assimilate one 5-minute reading for one person and for ``people`` at once (after compilation)."""
    one = rest.split(5)[0]
    bayes.assimilate(MODEL, post, one, key=jax.random.key(1), allow_withheld=True)  # compile
    t0 = time.perf_counter()
    for i in range(20):
        bayes.assimilate(MODEL, post, one, key=jax.random.key(i), allow_withheld=True)
    per = (time.perf_counter() - t0) / 20
    print(f"assimilate one 5-minute reading, 1 person, {post.n_draws} particles: {per * 1e3:.1f} ms", flush=True)
    # many people: the same update vmapped over people, each with its own particles
    from twinlab.bayes._assimilate import _filter, _record_arrays

    arrays = _record_arrays(one)
    theta = post.flat_theta()
    log_sigma = np.log(post.sigma_mg_dl.reshape(-1))
    stack = lambda x: jax.tree.map(lambda v: np.broadcast_to(v, (people, *np.shape(v))), x)  # noqa: E731
    many = jax.jit(jax.vmap(lambda th, ls, st, k: _filter(MODEL, post.free, post.base, th, ls, st, arrays, k)))
    args = (stack(theta), stack(log_sigma), stack(post.state), jax.random.split(jax.random.key(2), people))
    jax.block_until_ready(many(*args))
    t0 = time.perf_counter()
    for _ in range(3):
        jax.block_until_ready(many(*args))
    per_many = (time.perf_counter() - t0) / 3
    print(f"assimilate one reading for {people} people x {post.n_draws} particles: {per_many:.2f} s "
          f"({per_many / people * 1e3:.2f} ms per person)", flush=True)  # fmt: skip


#: The forecasts `real` compares: the twin as fitted (states simulated open-loop through the fitted day, default drift),
#: the twin refiltered (`Twin.refilter`: states filtered through the day, drift tuned by the evidence), the
#: unpersonalised population model (state never corrected), and persistence.
REAL_METHODS = ("twin", "twin, refiltered", "population", "persistence")


def _forecast_errors(record: tl.glucose.GlucoseRecord, train_min: int, eval_min: int, key: jax.Array) -> dict:
    fit = record.window(0, train_min)
    post = bayes.personalise(MODEL, fit, ("kp2", "Vmx", "kabs"), method="svi", key=key, svi_steps=1500,
                             num_samples=250)  # fmt: skip
    fitted = tl.Twin(MODEL, post, fit)
    refiltered, choice = fitted.refilter(key=jax.random.fold_in(key, 1), allow_withheld=True)
    point = tl.Twin.from_params(MODEL, bayes.reference_patient(), fit, name="population")
    twins = {"twin": fitted, "twin, refiltered": refiltered, "population": point}
    drift = {"population": 0.0}  # one particle: a random walk would only add noise
    errs: dict[str, dict[int, list[float]]] = {m: {30: [], 60: []} for m in REAL_METHODS}
    change: dict[int, list[tuple[float, float]]] = {30: [], 60: []}  # (refiltered twin's, real) 30/60-min change
    for origin in range(train_min, train_min + eval_min, 30):
        # every twin sees the readings up to and including `origin`, as persistence does
        for m, twin in twins.items():
            twins[m] = twin.assimilate(record.window(twin.minutes, origin + 1), key=jax.random.fold_in(key, origin),
                                       glucose_drift_per_sqrt_min=drift.get(m), allow_withheld=True)  # fmt: skip
        past = record.cgm_minute[record.cgm_minute <= origin]
        if past.size == 0 or origin - past[-1] > 20:
            continue
        last = float(record.cgm_mg_dl[record.cgm_minute <= origin][-1])
        plan = record.window(origin + 1, min(origin + 60, record.minutes)).schedule
        k = jax.random.fold_in(key, 10**6 + origin)
        fcs = {m: twin.forecast(59, key=k, plan=plan, allow_withheld=True) for m, twin in twins.items()}
        for h in (30, 60):
            hit = np.nonzero(record.cgm_minute == origin + h)[0]
            if hit.size:
                y = float(record.cgm_mg_dl[hit[0]])
                for m, fc in fcs.items():  # fc.minute[0] is origin + 1
                    errs[m][h].append(float(np.median(fc.bg[:, h - 1])) - y)
                errs["persistence"][h].append(last - y)
                bg = np.median(fcs["twin, refiltered"].bg, axis=0)
                change[h].append((float(bg[h - 1] - bg[0]), y - last))
    return {"errs": errs, "gate": post.ok, "khat": post.extras.get("psis_khat"), "drift": choice.drift_per_sqrt_min,
            "change": change}  # fmt: skip


def _synthetic_person(name: str, minutes: int, seed: int) -> tl.glucose.GlucoseRecord:
    """A virtual patient's record: meals every 4-6 h with boluses sized by the carbohydrate ratio, 8 mg/dL CGM noise."""
    true = tl.glucose.patient(name)
    rng = np.random.default_rng(seed)
    meals, m = [], 30
    while m < minutes:
        meals.append((m, float(rng.choice([30.0, 45.0, 60.0, 75.0]))))
        m += int(rng.integers(240, 361))
    boluses = [(t, g / float(true.therapy.carb_ratio_g_per_u)) for t, g in meals]
    schedule = tl.glucose.Schedule(meals=meals, boluses=boluses)
    bg = np.asarray(tl.glucose.simulate(MODEL, true, schedule, minutes=minutes).bg)
    t = np.arange(0, minutes, 5)
    y = bg[t] + rng.normal(0.0, 8.0, t.size)
    return tl.glucose.GlucoseRecord(t.astype(float), y, schedule, minutes=minutes, subject=name)


def _scores(fc: bayes.Forecast, after: tl.glucose.GlucoseRecord, origin: int) -> tuple[np.ndarray, np.ndarray]:
    keep = after.cgm_minute > 0
    minute, y = after.cgm_minute[keep] + origin, after.cgm_mg_dl[keep]
    return fc.crps(minute, y), fc.log_score(minute, y)


def refit(
    people: list[str], method: str, fit_h: float, every_h: float, checkpoints: int, horizon: int, drifts: list[float]
) -> None:
    free = ("kp2", "Vmx", "kabs")
    fit_min, every = int(fit_h * 60), int(every_h * 60)
    labels = [f"assimilate q={q:g}" for q in drifts] + ["refit", "none"]
    scores: dict[str, dict[str, list[float]]] = {m: {"crps": [], "log": []} for m in labels}
    scores["persistence"] = {"crps": [], "log": []}
    per_reading_s: list[float] = []
    refit_s: list[float] = []
    for i, name in enumerate(people):
        record = _synthetic_person(name, fit_min + checkpoints * every + horizon + 1, seed=i)
        base = bayes.reference_patient(name.split("#")[0])
        kw = dict(method=method, base=base, svi_steps=1500, num_samples=250, num_warmup=300)
        t0 = time.perf_counter()
        post = bayes.personalise(MODEL, record.window(0, fit_min), free, key=jax.random.key(i), **kw)
        print(f"{name}: first fit {time.perf_counter() - t0:.1f} s, gate {'passed' if post.ok else 'withheld'}")
        twin = tl.Twin(MODEL, post, record.window(0, fit_min), name)
        twins = {q: twin for q in drifts}
        blind = twin
        for c in range(1, checkpoints + 1):
            origin = fit_min + c * every
            new = record.window(origin - every, origin)
            k = jax.random.key(1000 * i + c)
            for q in drifts:
                t0 = time.perf_counter()
                twins[q] = twins[q].assimilate(new, key=k, glucose_drift_per_sqrt_min=q, allow_withheld=True)
                elapsed = time.perf_counter() - t0
                if c > 1:  # the first call compiles
                    per_reading_s.append(elapsed / max(new.n_readings, 1))
            unseen = tl.glucose.GlucoseRecord(np.zeros(0), np.zeros(0), new.schedule, minutes=new.minutes)
            blind = blind.assimilate(unseen, key=k, allow_withheld=True)
            t0 = time.perf_counter()
            refitted = bayes.personalise(MODEL, record.window(0, origin), free, key=k, **kw)
            refit_s.append(time.perf_counter() - t0)
            fresh = tl.Twin(MODEL, refitted, record.window(0, origin), name)
            after = record.window(origin, origin + horizon + 1)
            plan = record.window(origin, origin + horizon).schedule
            line = [f"  hour {origin / 60:4.1f}"]
            for label, tw in zip(labels, [*twins.values(), fresh, blind], strict=True):
                fc = tw.forecast(horizon, key=jax.random.key(7), plan=plan, allow_withheld=True)
                crps, log = _scores(fc, after, origin)
                scores[label]["crps"].extend(crps)
                scores[label]["log"].extend(log)
                line.append(f"{label} {crps.mean():.1f} / {log.mean():.2f}")
            last = float(record.window(0, origin).cgm_mg_dl[-1])
            keep = after.cgm_minute > 0
            scores["persistence"]["crps"].extend(np.abs(after.cgm_mg_dl[keep] - last))
            ess = min(tw.posterior.extras["ess_at_readings"].min() for tw in twins.values())
            line.append(f"refit {refit_s[-1]:.0f} s, particle ESS min {ess:.0f}")
            print("; ".join(line), flush=True)
    print("(per checkpoint: mean CRPS mg/dL / mean log score)")
    n = len(scores["refit"]["crps"])
    print(
        f"\n{len(people)} people x {checkpoints} checkpoints, {n} held-out readings within {horizon} min; "
        f"first fit {fit_h:g} h by {method}, updates every {every_h:g} h"
    )
    print(f"{'update':<20}{'CRPS mg/dL':>12}{'log score':>11}")
    for label, sc in scores.items():
        log = f"{np.mean(sc['log']):>11.3f}" if sc["log"] else f"{'-':>11}"
        print(f"{label:<20}{np.mean(sc['crps']):>12.2f}{log}")
    print(
        f"time per update: assimilate {np.median(per_reading_s) * 1e3:.1f} ms per reading (median, compiled); "
        f"refit {np.median(refit_s):.1f} s (median; {np.min(refit_s):.1f}-{np.max(refit_s):.1f})"
    )


def real(datasets: list[str], limit: int | None) -> None:
    totals: dict[str, dict[int, list[float]]] = {m: {30: [], 60: []} for m in REAL_METHODS}
    changes: dict[int, list[tuple[float, float]]] = {30: [], 60: []}
    rmse = lambda e: float(np.sqrt(np.mean(np.square(e))))  # noqa: E731
    for name in datasets:
        records = tl.data.real_records(name)
        for i, (rid, record) in enumerate(records.items()):
            if limit is not None and i >= limit:
                break
            if record.minutes < 1440 + 720:
                print(f"{rid}: {record.minutes} min, too short (needs 36 h)", flush=True)
                continue
            t0 = time.perf_counter()
            out = _forecast_errors(record, 1440, 720, jax.random.key(i))
            line = [f"{rid}: {time.perf_counter() - t0:.0f} s, SVI k-hat {out['khat']:.2f}, drift {out['drift']:g}"]
            for m, by_h in out["errs"].items():
                for h, e in by_h.items():
                    totals[m][h].extend(e)
                    if e:
                        line.append(f"{m} {h} min RMSE {rmse(e):.1f}")
            for h, pairs in out["change"].items():
                changes[h].extend(pairs)
                if len(pairs) > 2:
                    line.append(f"r(change) {h} min {np.corrcoef(np.asarray(pairs).T)[0, 1]:.2f}")
            print("; ".join(line), flush=True)
    print("\nall people, held-out 12 h after a day of fitting; mg/dL")
    print(f"{'forecast':<18}{'n':>6}{'RMSE 30':>10}{'MAE 30':>10}{'RMSE 60':>10}{'MAE 60':>10}")
    for m, by_h in totals.items():
        e30, e60 = np.asarray(by_h[30]), np.asarray(by_h[60])
        print(f"{m:<18}{e30.size:>6}{rmse(e30):>10.1f}{np.mean(np.abs(e30)):>10.1f}"
              f"{rmse(e60):>10.1f}{np.mean(np.abs(e60)):>10.1f}")  # fmt: skip
    for h, pairs in changes.items():
        if len(pairs) > 2:
            r = np.corrcoef(np.asarray(pairs).T)[0, 1]
            print(f"correlation of the refiltered twin's predicted {h}-minute change with the real change: {r:.2f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    s = sub.add_parser("speed")
    s.add_argument("--days", type=float, default=3.0)
    s.add_argument("--people", type=int, default=1000)
    s.add_argument("--free", nargs="+", default=["kp2", "Vmx", "kabs", "p2u"])
    s.add_argument("--warmup", type=int, default=500, help="NUTS warm-up iterations per chain")
    s.add_argument("--draws", type=int, default=500, help="NUTS draws per chain (and SVI draws per pseudo-chain)")
    r = sub.add_parser("real")
    r.add_argument("--datasets", nargs="+", default=["d1namo", "shanghai_t1dm"])
    r.add_argument("--limit", type=int, default=None, help="at most this many people per data set")
    f = sub.add_parser("refit")
    f.add_argument("--people", nargs="+", default=["adult#002", "adult#006", "adolescent#004", "child#005"])
    f.add_argument("--method", choices=("svi", "nuts"), default="svi")
    f.add_argument("--fit-hours", type=float, default=8.0)
    f.add_argument("--every-hours", type=float, default=2.0)
    f.add_argument("--checkpoints", type=int, default=4)
    f.add_argument("--horizon-min", type=int, default=60)
    f.add_argument("--drift", type=float, nargs="+", default=[0.0, 0.005, 0.01], help="assimilate's glucose drift q")
    args = parser.parse_args(argv)
    os.environ.setdefault("TWINLAB_DATA_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))
    if args.what == "speed":
        speed(args.days, args.people, tuple(args.free), args.warmup, args.draws)
    elif args.what == "refit":
        refit(
            args.people, args.method, args.fit_hours, args.every_hours, args.checkpoints, args.horizon_min, args.drift
        )
    else:
        real(args.datasets, args.limit)


if __name__ == "__main__":
    sys.exit(main())
