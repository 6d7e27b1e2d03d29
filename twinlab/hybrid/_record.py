"""A person's own record as a training window for the hybrid: the learned correction fitted to their readings.

`record_windows` turns a `tl.glucose.GlucoseRecord` into one `Windows` entry that spans the record: it starts at the
first reading from the base model's basal state scaled to that reading (as the glucose twin starts), is driven by the
recorded meals and insulin, and is scored against every later reading on the minute it was taken (missing minutes
are NaN and left out of the loss). A record carries no heart rate: the heart rate is held at rest, so the exercise
filters stay at zero and the network learns a correction of the compartments alone. The true glucose of a real
record is unknown (`Windows.bg_mg_dl` is NaN); `reading_rmse` scores a forecast against the readings instead, and
`split_readings` holds the last readings out of the fit to score it on readings it has not seen.

Example:
    >>> import twinlab as tl                                                               # doctest: +SKIP
    >>> model, start = tl.hybrid.init_hybrid(tl.glucose.patient("adult#001"))
    >>> train, test = tl.hybrid.split_readings(tl.hybrid.record_windows(record, start), held_out_min=60)
    >>> fitted = tl.hybrid.fit(model, start, train, steps=30)
    >>> tl.hybrid.reading_rmse(model, start, test), tl.hybrid.reading_rmse(model, fitted.params, test)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from twinlab.bayes._glucose import initial_state
from twinlab.glucose import GlucoseRecord, UVAPadova, exercise_inputs
from twinlab.hybrid._data import Windows
from twinlab.hybrid._model import HybridParams
from twinlab.sim import SimState

#: Fewest minutes between the first and the last reading that a record needs to train on.
MIN_SPAN_MIN = 30


def record_windows(record: GlucoseRecord, params: HybridParams) -> Windows:
    """One window over ``record``, from its first reading to its last (see the module docstring).

    Args:
        record: the person's readings, meals, boluses and basal.
        params: one person's `HybridParams` (scalar patient leaves): the start state and the basal insulin where the
            record runs on the person's own basal.

    Returns:
        `Windows` with B = 1 and H = last reading minus first reading, in minutes: ``cgm_mg_dl`` (1, H) holds each
        reading at its minute after the start (NaN elsewhere), ``cgm_every_min`` is 1, ``bg_mg_dl`` is NaN.

    Raises:
        ValueError: a record whose readings span less than `MIN_SPAN_MIN` minutes, or a population of parameters.
    """
    # The exercise filters start at rest (zero), whatever the hybrid's time constants.
    patient = params.patient
    if jnp.ndim(patient.BW) != 0:
        raise ValueError("record_windows takes one person's HybridParams (scalar patient leaves), not a population.")
    t = record.cgm_minute.astype(int)
    if t.size < 2 or t[-1] - t[0] < MIN_SPAN_MIN:
        raise ValueError(
            f"the record's readings span {int(t[-1] - t[0]) if t.size else 0} minutes; fitting needs at least "
            f"{MIN_SPAN_MIN}. Fix: a longer record window."
        )
    start, horizon = int(t[0]), int(t[-1] - t[0])
    cho, bolus, rate, own = (a[start : start + horizon] for a in record.schedule.arrays(record.minutes))
    insulin = own * float(patient.basal_u_per_min) + rate / 60.0 + bolus
    dtype = jnp.asarray(patient.BW).dtype
    rest = float(params.hr_rest_bpm)
    inputs = exercise_inputs(cho, insulin, np.full(horizon, rest), dtype=dtype)
    base = initial_state(UVAPadova(), patient, jnp.asarray(record.cgm_mg_dl[0], dtype))
    x0 = jnp.concatenate([base.x, jnp.zeros(2, dtype)])
    cgm = np.full(horizon, np.nan)
    cgm[t[1:] - start - 1] = record.cgm_mg_dl[1:]  # column j is minute j + 1 after the start
    return Windows(
        state0=jax.tree.map(lambda a: jnp.asarray(a)[None], SimState(x=x0, z=base.z)),
        inputs=jax.tree.map(lambda a: a[None], inputs),
        cgm_mg_dl=jnp.asarray(cgm, dtype)[None],
        bg_mg_dl=jnp.full((1, horizon + 1), jnp.nan, dtype),
        day=jnp.zeros(1, jnp.int32),
        start_min=jnp.asarray([start], jnp.int32),
        cgm_every_min=1,
    )


def split_readings(windows: Windows, *, held_out_min: int) -> tuple[Windows, Windows]:
    """``(train, test)``: the same windows, the readings of each one's last ``held_out_min`` minutes only in ``test``.

    Both simulate from the same start through the same inputs; only which readings score them differs (NaN elsewhere).

    Raises:
        ValueError: when either part would hold no reading.
    """
    every = windows.cgm_every_min
    n = int(windows.cgm_mg_dl.shape[1])
    if int(held_out_min) != held_out_min or not 0 < held_out_min < n * every:
        raise ValueError(f"held_out_min must be a whole number of minutes in (0, {n * every}); got {held_out_min!r}.")
    late = (jnp.arange(1, n + 1) * every > n * every - held_out_min)[None, :]  # (1, R) reading minute after the start
    nan = jnp.asarray(jnp.nan, windows.cgm_mg_dl.dtype)
    train = windows.replace(cgm_mg_dl=jnp.where(late, nan, windows.cgm_mg_dl))
    test = windows.replace(cgm_mg_dl=jnp.where(late, windows.cgm_mg_dl, nan))
    for name, part in (("training", train), ("held-out", test)):
        if not bool(jnp.all(jnp.any(~jnp.isnan(part.cgm_mg_dl), axis=1))):
            raise ValueError(
                f"the {name} readings of a window would be empty with held_out_min={held_out_min}. Fix: hold out "
                "fewer minutes, or use a longer record."
            )
    return train, test
