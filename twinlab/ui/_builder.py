"""`TwinBuilder`: compose a glucose twin in a form, build it, get the twin and the code that builds it again.

The form holds a template, a virtual person, the data source, the parts to learn and parameters with units and
bounds, and the optional parts after the twin (`twinlab.ui._parts`): a dosing policy behind a safety layer, whose
dose at the newest reading the result area shows, and a learned correction (a hybrid model fitted to the record,
scored on its held-out last quarter).
"""

from __future__ import annotations

from typing import Any

import anywidget
import jax
import traitlets

from twinlab import datasets
from twinlab.glucose._params import MODEL_FIELDS, patient, patient_names
from twinlab.twin import Twin
from twinlab.ui._explorer import _esm, parameter_spec
from twinlab.ui._parts import (
    LEARN_STEPS,
    LEARNED,
    MAX_MEAL_G,
    POLICIES,
    age_group_of,
    age_limits,
    check_learned,
    check_policy,
    learned_code,
    learned_nodes,
    learned_summary,
    policy_code,
    policy_nodes,
    recommendation_text,
)

#: The templates: id -> (label, what it builds).
TEMPLATES = {
    "fixed": ("fixed parameters", "a twin with the parameters set in the form (tl.Twin.from_params)"),
    "learn": ("learn from the data", "a population-prior ensemble, updated by the particle filter (prior_ensemble)"),
    "svi": ("fit to the data (SVI)", "the free parameters' posterior by variational inference (Twin.personalise)"),
}
SIMULATED = "simulated"
#: The real people offered as data sources when their files are present (twinlab.datasets).
REAL_SOURCES = tuple(f"d1namo/{i}" for i in range(1, 10))


def data_sources() -> list[str]:
    """``"simulated"`` (a virtual person's day), then the real people whose data files are present and verified."""
    try:
        datasets.fetch("d1namo", "Dubosson_processed_with_covariates_events.csv")
    except datasets.DataFileError:
        return [SIMULATED]
    return [SIMULATED, *REAL_SOURCES]


#: Parameters offered in the form.
FORM_PARAMETERS = ("Vmx", "kp2", "kabs", "p2u", "kp3", "BW")


def _code(choice: dict[str, Any]) -> str:
    """The Python that builds the twin ``choice`` describes (the builder runs exactly this)."""
    p, minutes, seed = choice["patient"], int(choice["minutes"]), int(choice["seed"])
    source = choice.get("data", SIMULATED)
    lines = ["import jax", "import twinlab as tl", ""]
    if source == SIMULATED:
        lines.append(
            f"record = tl.dash.simulated_record({p!r}, {minutes}, seed={seed})  # data source: a simulated day"
        )
    else:
        subject = int(source.split("/")[1])
        lines.append(f"record = tl.data.d1namo_record({subject}).window(0, {minutes})  # data source: {source}")
    if choice["template"] == "fixed":
        changed = ", ".join(f"{k}={float(v)!r}" for k, v in sorted(choice["values"].items()))
        lines.append(f"params = tl.glucose.patient({p!r})" + (f".replace({changed})" if changed else ""))
        lines.append("twin = tl.Twin.from_params(tl.glucose.UVAPadova(), params, record)")
    elif choice["template"] == "learn":
        free = tuple(choice["free"])
        lines.append(
            f"twin = tl.dash.prior_ensemble(tl.glucose.UVAPadova(), record, {free!r}, "
            f"n_particles={int(choice['n_particles'])}, key=jax.random.key({seed}))"
        )
    else:
        free = tuple(choice["free"])
        lines.append(
            f"twin = tl.Twin.personalise(tl.glucose.UVAPadova(), record, {free!r}, method='svi', "
            f"key=jax.random.key({seed}))"
        )
    lines += policy_code(choice) + learned_code(choice)
    return "\n".join(lines) + "\n"


def composition(choice: dict[str, Any]) -> dict[str, Any]:
    """The parts the twin of ``choice`` is composed of, as a graph the form draws: the same parts `_code` writes.

    Returns:
        ``{"nodes": [{"id", "part", "label", "column"}], "edges": [[from_id, to_id], ...]}``; columns 0-2 run from
        the inputs (data, parameters, simulator) through the personalisation to the twin; column 3 holds the
        policy and the learned part fed by the twin, when chosen.
    """
    p, minutes = choice["patient"], int(choice["minutes"])
    source = choice.get("data", SIMULATED)
    data = (
        f"simulated CGM day of {p}, {minutes} min" if source == SIMULATED else f"{source} (real), first {minutes} min"
    )
    changed = sorted(choice.get("values", {}))
    if choice["template"] == "fixed":
        params = f"{p}'s parameters" + (f", {', '.join(changed)} set in the form" if changed else "")
        method = "none: fixed parameters (point posterior)"
    elif choice["template"] == "learn":
        params = f"population prior around {p}; learn {', '.join(choice.get('free', []))}"
        method = f"particle filter, {int(choice.get('n_particles', 0))} particles (prior ensemble)"
    else:
        params = f"population prior around {p}; learn {', '.join(choice.get('free', []))}"
        method = "variational inference (SVI), gated posterior"
    nodes = [
        {"id": "data", "part": "data source", "label": data, "column": 0},
        {"id": "params", "part": "parameters", "label": params, "column": 0},
        {"id": "simulator", "part": "simulator", "label": "UVA/Padova 2008 (tl.glucose.UVAPadova)", "column": 0},
        {"id": "personalise", "part": "personalisation", "label": method, "column": 1},
        {"id": "twin", "part": "twin", "label": "tl.Twin: simulator + posterior + record", "column": 2},
    ]
    edges = [["data", "personalise"], ["params", "personalise"], ["simulator", "personalise"], ["personalise", "twin"]]
    for more_nodes, more_edges in (policy_nodes(choice), learned_nodes(choice)):
        nodes, edges = nodes + more_nodes, edges + more_edges
    return {"nodes": nodes, "edges": edges}


def check_choice(choice: dict[str, Any]) -> None:
    """Raise ValueError naming the first field of ``choice`` that is out of its bounds or unknown."""
    if choice.get("template") not in TEMPLATES:
        raise ValueError(f"template must be one of {list(TEMPLATES)}; got {choice.get('template')!r}")
    if choice.get("patient") not in patient_names():
        raise ValueError(f"unknown virtual patient {choice.get('patient')!r}; see tl.glucose.patient_names()")
    if not 60 <= int(choice.get("minutes", 0)) <= 10080:
        raise ValueError(f"minutes of data must lie in [60, 10080]; got {choice.get('minutes')!r}")
    bounds = {s["name"]: s for s in parameter_spec(FORM_PARAMETERS)}
    for name, value in choice.get("values", {}).items():
        s = bounds.get(name)
        if s is None:
            raise ValueError(f"{name!r} is not in the form; parameters: {list(FORM_PARAMETERS)}")
        if not s["min"] <= float(value) <= s["max"]:
            raise ValueError(f"{name} = {value} {s['unit']} lies outside [{s['min']:.4g}, {s['max']:.4g}] {s['unit']}")
    if choice.get("data", SIMULATED) not in data_sources():
        raise ValueError(
            f"data source {choice.get('data')!r} is not available here; choose from {data_sources()} (real people need"
            " their files: `twinlab data d1namo`)"
        )
    if choice["template"] in ("learn", "svi"):
        free = choice.get("free", [])
        if not free or any(f not in MODEL_FIELDS for f in free):
            raise ValueError(f"choose at least one parameter to learn, from {list(FORM_PARAMETERS)}; got {free!r}")
        if choice["template"] == "learn" and int(choice.get("n_particles", 0)) < 200:
            raise ValueError(f"particles must be at least 200; got {choice.get('n_particles')!r}")
    check_policy(choice)
    check_learned(choice)


class TwinBuilder(anywidget.AnyWidget):
    """A form that builds a glucose twin; ``builder.twin`` is the result, ``builder.code`` the code that rebuilds it.

    With a policy chosen, ``builder.policy`` is it inside its `tl.control.SafetyLayer` and ``builder.dose`` the
    `tl.control.Recommendation` at the record's newest reading (``recommendation`` shows it in the form). With the
    learned part, ``builder.hybrid`` is the `tl.hybrid.HybridUVAPadova` and ``builder.learned`` its
    `tl.hybrid.FitResult` (``learned_result`` shows the held-out score).

    In JupyterLab with twinlab's extension, the form's "insert as a cell" puts ``code`` in a new cell below its own.

    Attributes (synchronised with the browser):
        templates: ``{id: [label, description]}``.
        patients: the virtual patients to start from (their parameters, or the prior around them).
        sources: the data sources offered: ``"simulated"`` and the real people whose files are present.
        form: slider specs of the parameters (name, label, unit, min, max, step).
        policies: ``{id: [label, description]}`` of the dosing policies (`twinlab.ui._parts.POLICIES`).
        age_groups: ``{group: [max basal U/h, max bolus U, max on board U]}``, the safety layer's limits.
        learned_parts: ``{id: [label, description]}`` of the learned parts (`twinlab.ui._parts.LEARNED`).
        choice: what is chosen: template, patient, data, minutes, seed, values (changed parameters, in their units),
            free (parameters to learn), n_particles, policy, age_group (safety limits), meal_g (carbohydrate
            announced now for the recommendation, g),
            learned (a learned part or "none"), learn_steps (its Adam steps).
        code: the Python the last build ran.
        graph: the chosen composition as a graph (`composition`), drawn by the form.
        status: the last build's outcome, or what was wrong with the choice.
        recommendation: the last build's dose now (`tl.control.Recommendation.to_dict` plus ``text``), or empty.
        learned_result: the last build's learned part (`twinlab.ui._parts.learned_summary`), or empty.
    """

    _esm = traitlets.Any().tag(sync=True)
    templates: traitlets.Dict[str, Any] = traitlets.Dict().tag(sync=True)
    patients: traitlets.List[str] = traitlets.List().tag(sync=True)
    sources: traitlets.List[str] = traitlets.List().tag(sync=True)
    form: traitlets.List[dict[str, Any]] = traitlets.List().tag(sync=True)
    choice: traitlets.Dict[str, Any] = traitlets.Dict().tag(sync=True)
    defaults: traitlets.Dict[str, Any] = traitlets.Dict().tag(sync=True)
    code = traitlets.Unicode("").tag(sync=True)
    status = traitlets.Unicode("").tag(sync=True)
    graph: traitlets.Dict[str, Any] = traitlets.Dict().tag(sync=True)
    policies: traitlets.Dict[str, Any] = traitlets.Dict().tag(sync=True)
    age_groups: traitlets.Dict[str, Any] = traitlets.Dict().tag(sync=True)
    max_meal_g = traitlets.Float(MAX_MEAL_G).tag(sync=True)
    recommendation: traitlets.Dict[str, Any] = traitlets.Dict().tag(sync=True)
    learned_parts: traitlets.Dict[str, Any] = traitlets.Dict().tag(sync=True)
    learn_steps_bounds: traitlets.List[int] = traitlets.List(list(LEARN_STEPS)).tag(sync=True)
    learned_result: traitlets.Dict[str, Any] = traitlets.Dict().tag(sync=True)

    def __init__(self, patient_name: str = "adult#001") -> None:
        base = patient(patient_name)
        super().__init__(
            _esm=_esm("builder"),
            templates={k: list(v) for k, v in TEMPLATES.items()},
            patients=patient_names(),
            sources=data_sources(),
            form=parameter_spec(FORM_PARAMETERS),
            defaults={n: float(getattr(base, n)) for n in FORM_PARAMETERS},
            policies={k: [label, about] for k, (label, about, _) in POLICIES.items()},
            age_groups={k: list(v) for k, v in age_limits().items()},
            learned_parts={k: list(v) for k, v in LEARNED.items()},
            choice={"template": "fixed", "patient": patient_name, "data": SIMULATED, "minutes": 240, "seed": 0,
                    "values": {},
                    "free": ["kp2", "Vmx", "kabs"], "n_particles": 256,
                    "policy": "none", "age_group": age_group_of(patient_name), "meal_g": 0.0,
                    "learned": "none", "learn_steps": 30},
        )  # fmt: skip
        self.twin: Twin | None = None
        self.policy: Any = None  # a tl.control.SafetyLayer around the chosen policy
        self.dose: Any = None  # its tl.control.Recommendation at the newest reading
        self.hybrid: Any = None  # the learned part's tl.hybrid.HybridUVAPadova
        self.learned: Any = None  # and its tl.hybrid.FitResult
        self.on_msg(self._on_msg)
        self.observe(self._compose, names="choice")
        self._compose(None)

    def _compose(self, _change: Any) -> None:
        try:
            check_choice(dict(self.choice))
        except (ValueError, TypeError, KeyError):
            return  # the form shows the last valid composition; "build" says what is wrong
        self.graph = composition(dict(self.choice))

    def _on_msg(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        if content.get("type") == "build":
            self.build()

    def build(self) -> Twin | None:
        """Build the chosen twin (running exactly ``code``); None, with ``status`` saying why, if the choice is bad."""
        choice = dict(self.choice)
        try:
            check_choice(choice)
        except (ValueError, TypeError) as err:
            self.status = f"not built: {err}"
            self.recommendation, self.learned_result = {}, {}
            return None
        code = _code(choice)
        scope: dict[str, Any] = {}
        exec(compile(code, "<twin builder>", "exec"), scope)  # the code shown is the code run: it reproduces the twin
        self.twin = scope["twin"]
        self.policy, self.dose = scope.get("policy"), scope.get("dose")
        self.hybrid, self.learned = scope.get("hybrid"), scope.get("learned")
        self.code = code
        post = self.twin.posterior
        self.status = f"built: twin of {self.twin.name}, {post.method} posterior on {jax.default_backend()}" + (
            f"; policy: {POLICIES[choice['policy']][0]} behind the {choice['age_group']} safety layer"
            if self.policy is not None
            else ""
        )
        self.recommendation = (
            {**self.dose.to_dict(), "text": recommendation_text(self.dose)} if self.dose is not None else {}
        )
        self.learned_result = (
            learned_summary(self.learned, scope["held_out_rmse_mg_dl"], int(choice["minutes"]) // 4)
            if self.learned is not None
            else {}
        )
        return self.twin
