"""The builder's optional parts after the twin: a dosing policy behind a safety layer, and a learned correction.

Each part is a few pure functions of the form's choice: its check, the lines of Python that build it (the builder
runs exactly those), its nodes and edges in the composition graph, and what its result area shows.
"""

from __future__ import annotations

from typing import Any

#: Minutes between the policy's decisions: the records' CGM sample time (simulated and D1NAMO readings: 5 min).
DECISION_MIN = 5
#: Posterior draws an MPC optimises over (evenly thinned; a fixed-parameter twin has one).
MPC_MEMBERS = 8
#: The largest meal the form lets a user announce for the recommendation, g.
MAX_MEAL_G = 300.0
#: Bounds on the learned part's Adam steps.
LEARN_STEPS = (1, 2000)

#: The policies: id -> (label, what it builds, the Python expression of the policy inside its safety layer).
POLICIES: dict[str, tuple[str, str, str]] = {
    "none": ("none", "no dosing policy", ""),
    "basal-bolus": (
        "basal-bolus",
        "the scheduled basal, and C / CR plus a correction above 150 mg/dL at an announced meal",
        "tl.control.BasalBolus()",
    ),
    "pid": (
        "PID",
        "basal from a PID on the CGM around 120 mg/dL, plus the basal-bolus meal bolus",
        f"tl.control.PID(interval_min={DECISION_MIN})",
    ),
    "mpc": (
        "MPC over the twin",
        f"model-predictive dosing over {MPC_MEMBERS} draws of the twin's posterior (8 h horizon)",
        f"tl.control.MPC.from_posterior(twin.posterior, members={MPC_MEMBERS}, interval_min={DECISION_MIN})",
    ),
}


def age_limits() -> dict[str, tuple[float, float, float]]:
    """The safety layer's hard limits by age group: (max basal U/h, max bolus U, max on board U).

    Imported on first use: `twinlab.control` loads Brax, which a builder without a policy never needs.
    """
    from twinlab.control import AGE_GROUP_LIMITS

    return AGE_GROUP_LIMITS


def age_group_of(patient_name: str) -> str:
    """The safety limits' age group of a virtual patient ("child#003" -> "child"; a real person: "adult")."""
    group = patient_name.split("#")[0]
    return group if group in age_limits() else "adult"


def check_policy(choice: dict[str, Any]) -> None:
    """Raise ValueError naming the policy field of ``choice`` that is unknown or out of bounds."""
    policy = choice.get("policy", "none")
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {list(POLICIES)}; got {policy!r}")
    if policy == "none":
        return
    if choice.get("age_group") not in age_limits():
        raise ValueError(f"safety limits: age_group must be one of {list(age_limits())}; got "
                         f"{choice.get('age_group')!r}")  # fmt: skip
    meal = float(choice.get("meal_g", 0.0))
    if not 0.0 <= meal <= MAX_MEAL_G:
        raise ValueError(f"the meal announced now must lie in [0, {MAX_MEAL_G:g}] g; got {choice.get('meal_g')!r}")


def policy_code(choice: dict[str, Any]) -> list[str]:
    """Lines that build ``policy`` (the policy in its safety layer) and ``dose`` (its dose now) after ``twin``."""
    policy = choice.get("policy", "none")
    if policy == "none":
        return []
    expr = POLICIES[policy][2]
    group, meal, seed = choice["age_group"], float(choice.get("meal_g", 0.0)), int(choice["seed"])
    return [
        f"policy = tl.control.SafetyLayer.for_age_group({expr}, {group!r}, interval_min={DECISION_MIN})",
        "# the dose at the newest reading, as the safety layer lets it through (dose.reasons: the clamps applied)",
        f"dose = tl.control.dose_now(policy, twin.record, twin.posterior.base, meal_g={meal!r}, "
        f"key=jax.random.key({seed}))",
    ]


def policy_nodes(choice: dict[str, Any]) -> tuple[list[dict[str, Any]], list[list[str]]]:
    """The policy's node (column 3, fed by the twin), or nothing when no policy is chosen."""
    policy = choice.get("policy", "none")
    if policy == "none":
        return [], []
    basal, bolus, iob = age_limits()[choice["age_group"]]
    label = (f"{POLICIES[policy][0]} behind the {choice['age_group']} safety layer (≤ {basal:g} U/h, ≤ {bolus:g} U "
             f"bolus, ≤ {iob:g} U on board)")  # fmt: skip
    return [{"id": "policy", "part": "policy", "label": label, "column": 3}], [["twin", "policy"]]


def recommendation_text(dose: Any) -> str:
    """One line on a `tl.control.Recommendation`: what was asked, what passed, and why it changed."""
    d = dose.to_dict()
    clamps = ", ".join(d["reasons"]) or "none"
    return (
        f"dose at minute {d['minute']} (CGM {d['glucose_mg_dl']:.0f} mg/dL, {d['iob_u']:.1f} U on board, "
        f"{d['meal_g']:g} g announced): basal {d['delivered_basal_u_per_h']:.2f} U/h, bolus "
        f"{d['delivered_bolus_u']:.2f} U (asked {d['requested_basal_u_per_h']:.2f} U/h, "
        f"{d['requested_bolus_u']:.2f} U); clamps: {clamps}"
    )


#: The learned parts: id -> (label, what it builds). The hybrid is its own model beside the twin: `tl.Twin` and its
#: posterior are built on `tl.glucose.UVAPadova` alone, so the twin's forecasts do not use the correction.
LEARNED: dict[str, tuple[str, str]] = {
    "none": ("none", "no learned part"),
    "gnn-residual": (
        "GNN residual (hybrid)",
        "a message-passing network over the model's compartments correcting UVA/Padova, fitted with Vm0 and Vmx to "
        "the record from the twin's fixed parameters (tl.hybrid.fit); the last quarter of the record is held out",
    ),
}


def check_learned(choice: dict[str, Any]) -> None:
    """Raise ValueError naming the learned-part field of ``choice`` that is unknown or out of bounds."""
    learned = choice.get("learned", "none")
    if learned not in LEARNED:
        raise ValueError(f"learned part must be one of {list(LEARNED)}; got {learned!r}")
    lo, hi = LEARN_STEPS
    if learned != "none" and not lo <= int(choice.get("learn_steps", 0)) <= hi:
        raise ValueError(
            f"the learned part's training steps must lie in [{lo}, {hi}]; got {choice.get('learn_steps')!r}"
        )


def learned_code(choice: dict[str, Any]) -> list[str]:
    """Lines that build ``hybrid`` and ``learned`` (its `tl.hybrid.FitResult`) from ``twin``, and the held-out score."""
    if choice.get("learned", "none") == "none":
        return []
    seed, steps, held_out = int(choice["seed"]), int(choice["learn_steps"]), int(choice["minutes"]) // 4
    return [
        f"hybrid, start = tl.hybrid.init_hybrid(twin.posterior.base, seed={seed})  # learned part: UVA/Padova + GNN",
        f"train, test = tl.hybrid.split_readings(tl.hybrid.record_windows(twin.record, start), "
        f"held_out_min={held_out})",
        f"learned = tl.hybrid.fit(hybrid, start, train, steps={steps}, seed={seed})",
        "held_out_rmse_mg_dl = {'base': float(tl.hybrid.reading_rmse(hybrid, start, test)[0]),",
        "                       'hybrid': float(tl.hybrid.reading_rmse(hybrid, learned.params, test)[0])}",
    ]


def learned_nodes(choice: dict[str, Any]) -> tuple[list[dict[str, Any]], list[list[str]]]:
    """The learned part's node (column 3, from the twin's parameters and record), or nothing when none is chosen."""
    if choice.get("learned", "none") == "none":
        return [], []
    label = (f"GNN residual on UVA/Padova (tl.hybrid), {int(choice['learn_steps'])} Adam steps on the record; "
             "a model beside the twin")  # fmt: skip
    return [{"id": "learned", "part": "learned part", "label": label, "column": 3}], [["twin", "learned"]]


def learned_summary(fit: Any, held_out_rmse_mg_dl: dict[str, float], held_out_min: int) -> dict[str, Any]:
    """JSON-safe numbers on a fitted hybrid (a `tl.hybrid.FitResult`) and a one-line ``text``."""
    losses = [float(v) for v in fit.losses]
    base, hybrid = held_out_rmse_mg_dl["base"], held_out_rmse_mg_dl["hybrid"]
    return {
        "steps": len(losses),
        "loss_first": losses[0],
        "loss_last": losses[-1],
        "held_out_min": held_out_min,
        "base_rmse_mg_dl": base,
        "hybrid_rmse_mg_dl": hybrid,
        "text": (
            f"learned part: {len(losses)} Adam steps, training loss {losses[0]:.3g} -> {losses[-1]:.3g} (10 mg/dL)^2; "
            f"last {held_out_min} min held out, RMSE against the readings: base model {base:.1f} mg/dL, hybrid "
            f"{hybrid:.1f} mg/dL"
        ),
    }
