"""`ParameterExplorer`: sliders for a glucose patient's parameters that re-simulate and redraw live.

The simulation is compiled once, when the widget is made: a slider move sends new values, which become an array of
the same shape and dtype, so the compiled code is reused and never retraced (`ParameterExplorer.traces` counts).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anywidget
import jax
import jax.numpy as jnp
import numpy as np
import traitlets

from twinlab.glucose._params import PatientParams, patient, patient_names, patients
from twinlab.glucose._schedule import Schedule
from twinlab.glucose._simulate import DEFAULT_SOLVER, schedule_inputs
from twinlab.glucose._uva_padova import UVAPadova
from twinlab.sim import simulate_one
from twinlab.ui._units import parameter_units

STATIC = Path(__file__).parent / "static"

MSG_NO_BUNDLE = (
    "the widget's JavaScript bundle {path} is missing. Fix: build it with "
    "`source scripts/venv.sh && build_widgets` in a checkout (a wheel ships it built)."
)


def _esm(name: str) -> str:
    """The built ES module of widget ``name`` (its text: what the front end receives)."""
    path = STATIC / f"{name}.js"
    if not path.is_file():
        raise FileNotFoundError(MSG_NO_BUNDLE.format(path=path))
    return path.read_text(encoding="utf-8")


def parameter_spec(names: Sequence[str], *, widen: float = 2.0) -> list[dict[str, Any]]:
    """Slider specs: per parameter its label, unit and bounds (the 30 virtual patients' range, widened ``widen``x).

    Raises:
        ValueError: a name that is not a model parameter, or ``widen`` below 1.
    """
    if widen < 1:
        raise ValueError(f"widen must be at least 1; got {widen}")
    pop = patients(patient_names())
    spec = []
    for n in names:
        units = parameter_units()
        if n not in units:
            raise ValueError(f"{n!r} is not a parameter of the glucose model; choose from {sorted(units)}")
        v = np.asarray(getattr(pop, n), dtype=np.float64)
        lo, hi = float(v.min()) / widen, float(v.max()) * widen
        label, unit = units[n]
        spec.append({"name": n, "label": f"{n}: {label}", "unit": unit, "min": lo, "max": hi, "step": (hi - lo) / 200})
    return spec


class ParameterExplorer(anywidget.AnyWidget):
    """Sliders for a virtual patient's parameters; each move re-simulates the day and redraws the glucose.

    Args:
        name: the virtual patient whose other parameters stay fixed.
        parameters: the parameters given sliders (fields of `tl.glucose.PatientParams`).
        schedule: the day's meals, boluses and basal (default: three meals with carb-ratio boluses).
        minutes: simulated minutes.

    Attributes (synchronised with the browser):
        spec: the sliders (name, label, unit, min, max, step).
        values: the current value of each parameter, in its unit.
        curve: ``{"minute": (minutes + 1,), "bg_mg_dl": (minutes + 1,)}``, the simulated plasma glucose.
        traces: how many times the simulation was traced (compiled); stays 1.
    """

    _esm = traitlets.Any().tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    spec: traitlets.List[dict[str, Any]] = traitlets.List().tag(sync=True)
    values = traitlets.Dict().tag(sync=True)
    curve = traitlets.Dict().tag(sync=True)
    traces = traitlets.Int(0).tag(sync=True)

    def __init__(
        self,
        name: str = "adult#001",
        parameters: Sequence[str] = ("Vmx", "kp2", "kabs", "p2u"),
        *,
        schedule: Schedule | None = None,
        minutes: int = 1440,
    ) -> None:
        base = patient(name)
        if schedule is None:
            ratio = float(np.asarray(base.therapy.carb_ratio_g_per_u))
            meals = [(m, g) for m, g in ((420, 50.0), (720, 70.0), (1140, 60.0)) if m < minutes]
            schedule = Schedule(meals=meals, boluses=[(m, g / ratio) for m, g in meals])
        self._names = tuple(parameters)
        self._base = base
        dtype = base.BW.dtype
        self._arrays = tuple(jnp.asarray(a, dtype=dtype) for a in schedule.arrays(int(minutes)))
        self._run = jax.jit(self._simulate)
        values = {n: float(np.asarray(getattr(base, n))) for n in self._names}
        super().__init__(
            _esm=_esm("explorer"), title=f"{name}: glucose over {minutes} min", spec=parameter_spec(self._names),
            values=values,
        )  # fmt: skip
        self.observe(self._redraw, names="values")
        self._redraw(None)

    def _simulate(self, theta: jax.Array, arrays: tuple[jax.Array, ...]) -> jax.Array:
        self.traces += 1  # runs only while tracing: counts compilations
        params: PatientParams = self._base.replace(**{n: theta[i] for i, n in enumerate(self._names)})
        traj = simulate_one(UVAPadova(), params, schedule_inputs(params, *arrays), dt=1.0, solver=DEFAULT_SOLVER)
        return traj.bg

    def _redraw(self, _change: Any) -> None:
        theta = jnp.asarray([float(self.values[n]) for n in self._names], dtype=self._base.BW.dtype)
        bg = np.asarray(self._run(theta, self._arrays))
        self.curve = {"minute": list(range(bg.shape[0])), "bg_mg_dl": [round(float(v), 3) for v in bg]}
