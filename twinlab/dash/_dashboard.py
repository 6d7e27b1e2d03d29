"""`dashboard`: the glucose twin's live dashboard from a record (real, or a simulated virtual patient)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from twinlab.glucose._params import patient
from twinlab.glucose._record import GlucoseRecord
from twinlab.glucose._schedule import Schedule
from twinlab.glucose._simulate import simulate
from twinlab.glucose._uva_padova import UVAPadova

#: The simulated day's meals: (minute, g carbohydrate).
SIMULATED_MEALS = ((60, 45.0), (330, 70.0), (720, 60.0), (1080, 80.0))


def simulated_record(
    name: str = "adult#001", minutes: int = 1440, *, seed: int = 0, noise_mg_dl: float = 8.0, every_min: int = 5
) -> GlucoseRecord:
    """A virtual patient's day under `SIMULATED_MEALS` with carb-ratio boluses, read by a CGM with Gaussian error.

    Args:
        name: a virtual patient (`tl.glucose.patient_names()`).
        minutes: length of the record.
        seed: seed of the reading error.
        noise_mg_dl: standard deviation of the reading error, mg/dL.
        every_min: minutes between readings.

    Returns:
        A `tl.glucose.GlucoseRecord` (subject ``name``, source "simulated").
    """
    true = patient(name)
    meals = [(m, g) for m, g in SIMULATED_MEALS if m < minutes]
    ratio = float(np.asarray(true.therapy.carb_ratio_g_per_u))
    schedule = Schedule(meals=meals, boluses=[(m, g / ratio) for m, g in meals])
    bg = np.asarray(simulate(UVAPadova(), true, schedule, minutes=minutes).bg)
    t = np.arange(0, minutes, every_min)
    y = bg[t] + np.random.default_rng(seed).normal(0.0, noise_mg_dl, t.size)
    return GlucoseRecord(t.astype(np.float64), y, schedule, minutes=minutes, subject=name, source="simulated")


def dashboard(
    record: GlucoseRecord | None = None,
    *,
    head_min: int = 60,
    step_min: int = 15,
    horizon_min: int = 120,
    free: Sequence[str] = ("kp2", "Vmx", "kabs"),
    n_particles: int = 256,
    period_ms: int = 1000,
    population: bool | Sequence[str] = True,
    seed: int = 0,
) -> Any:
    """The live dashboard of a glucose twin: a `pn.viewable.Viewer` (call ``.servable()`` in an app).

    The twin starts from the population prior (`prior_ensemble`) on the record's first ``head_min`` minutes; the rest
    of the record is replayed ``step_min`` minutes per tick and assimilated.

    Args:
        record: the person's record (for example ``tl.data.real_records("d1namo")["d1namo/1"]``); default a
            simulated virtual patient (`simulated_record`).
        head_min: minutes seen before the replay starts.
        step_min: minutes of readings delivered per tick.
        horizon_min: forecast horizon, minutes.
        free: the personalised parameters.
        n_particles: particles of the twin's filter.
        period_ms: milliseconds between ticks.
        population: True for the 30 virtual patients' population tab, a list of names for some, False for none.
        seed: seed of the twin's draws and forecasts (and of the simulated record and population).

    Returns:
        A `GlucoseDashboard`.
    """
    import holoviews as hv
    import jax
    import panel as pn

    from twinlab.dash._glucose import GlucoseDashboard
    from twinlab.dash._population import population_metrics
    from twinlab.dash._stream import start_stream

    # twinlab's inference runs in float64 (its sampler coordinates and forecasts request it).
    jax.config.update("jax_enable_x64", True)
    pn.extension()
    hv.extension("bokeh", logo=False)
    record = simulated_record(seed=seed) if record is None else record
    stream = start_stream(record, head_min=head_min, free=free, n_particles=n_particles, seed=seed,
                          step_min=step_min, horizon_min=horizon_min)  # fmt: skip
    table = None
    if population is not False:
        names = None if population is True else list(population)
        table = population_metrics(names, seed=seed)
    title = f"Glucose twin of {record.subject or 'a person'} ({record.source or 'record'})"
    return GlucoseDashboard(stream, population=table, period_ms=period_ms, title=title)
