"""Glycaemic metrics of blood-glucose series, computed for whole populations at once.

Every metric takes ``bg_mg_dl`` of shape ``(..., n_time)``: any leading batch axes (patients, scenarios,
seeds), time on the last axis, one reading per entry in mg/dL. It returns an array of shape ``(...)``, one
value per series. Missing readings are NaN: they are left out of every metric (masked means), and a series
with no reading at all gives NaN. The functions are pure ``jax.numpy`` code without branches on values, so
they run under ``jax.jit`` and ``jax.vmap`` and differentiate where the metric is smooth (mean, SD, CV, GMI,
LBGI, HBGI).

Readings must be positive and finite (NaN aside). With concrete arrays a bad reading raises a ValueError;
under tracing the values are unknown, so the check is skipped.

References:
    Kovatchev B. P. et al. (1997, 2006): the blood-glucose risk function, LBGI and HBGI.
    Bergenstal R. M. et al. (2018), Diabetes Care 41: the glucose management indicator (GMI).
    Battelino T. et al. (2019), Diabetes Care 42: International Consensus on Time in Range.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp
import numpy as np

if TYPE_CHECKING:
    import pandas as pd

METRIC_NAMES: tuple[str, ...] = (
    "mean_mg_dl",
    "sd_mg_dl",
    "cv_percent",
    "gmi_percent",
    "tir_70_180_percent",
    "below_70_percent",
    "below_54_percent",
    "above_180_percent",
    "above_250_percent",
    "lbgi",
    "hbgi",
    "risk_index",
)
"""Keys of :func:`glycaemic_metrics` and columns of :func:`metrics_table`, in that order."""

CONSENSUS_TARGETS: Mapping[str, tuple[str, float]] = MappingProxyType(
    {
        "tir_70_180_percent": (">", 70.0),
        "below_70_percent": ("<", 4.0),
        "below_54_percent": ("<", 1.0),
        "above_250_percent": ("<", 5.0),
        "above_180_percent": ("<", 25.0),
        "cv_percent": ("<=", 36.0),
    }
)
"""Targets of the International Consensus on Time in Range (Battelino et al. 2019) for most adults with type 1
diabetes: metric name -> (comparison, limit in %). Time above 180 mg/dL includes the time above 250 mg/dL; the
CV target (<= 36 %) is the consensus' threshold for stable glucose. Read-only."""

_COMPARISONS: Mapping[str, Callable[[jax.Array, float], jax.Array]] = MappingProxyType(
    {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
)


def _check_bg(bg_mg_dl: jax.typing.ArrayLike) -> jax.Array:
    """Return ``bg_mg_dl`` as a floating array with a time axis; raise a ValueError on bad concrete readings.

    Args:
        bg_mg_dl: blood glucose, mg/dL, shape (..., n_time); NaN marks a missing reading.

    Returns:
        The readings as a floating ``jax.Array`` (integers become JAX's default float).

    Raises:
        ValueError: no time axis, or (for concrete arrays only) a reading that is zero, negative or infinite.
    """
    bg = jnp.asarray(bg_mg_dl)
    if not jnp.issubdtype(bg.dtype, jnp.floating):
        bg = bg.astype(jnp.result_type(float))
    if bg.ndim == 0:
        raise ValueError(
            "bg_mg_dl is a single number, but metrics need a series with time on the last axis. "
            "Fix: pass an array of shape (..., n_time), e.g. jnp.atleast_1d(bg)."
        )
    if isinstance(bg, jax.core.Tracer):
        return bg
    host = np.asarray(bg)
    bad = ~np.isnan(host) & ~(np.isfinite(host) & (host > 0))
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"bg_mg_dl has {int(bad.sum())} reading(s) that are zero, negative or infinite; the first is "
            f"{float(host[index])!r} at index {index}. Blood glucose is a positive concentration in mg/dL. "
            f"Fix: mark missing or failed readings as NaN (they are then left out), or convert mmol/L to "
            f"mg/dL first (multiply by 18.016)."
        )
    return bg


def _masked_mean(values: jax.Array, valid: jax.Array) -> jax.Array:
    """Mean over the last axis of the entries where ``valid`` holds; NaN where none does."""
    total = jnp.sum(jnp.where(valid, values, jnp.zeros_like(values)), axis=-1)
    count = jnp.sum(valid, axis=-1).astype(total.dtype)
    return total / count


def _percent(hit: jax.Array, bg: jax.Array) -> jax.Array:
    """Percent of the non-missing readings of ``bg`` where ``hit`` holds."""
    return 100.0 * _masked_mean(hit.astype(bg.dtype), ~jnp.isnan(bg))


def _mean(bg: jax.Array) -> jax.Array:
    return _masked_mean(bg, ~jnp.isnan(bg))


def _sd(bg: jax.Array, ddof: int) -> jax.Array:
    valid = ~jnp.isnan(bg)
    centred = bg - _mean(bg)[..., None]
    total = jnp.sum(jnp.where(valid, centred**2, jnp.zeros_like(bg)), axis=-1)
    count = jnp.sum(valid, axis=-1).astype(total.dtype)
    return jnp.sqrt(total / (count - ddof))


def time_in_range(bg_mg_dl: jax.typing.ArrayLike, low: float = 70.0, high: float = 180.0) -> jax.Array:
    """Percent of readings inside ``[low, high]``, bounds included.

    Args:
        bg_mg_dl: blood glucose, mg/dL, shape (..., n_time); NaN readings are left out.
        low: lower bound of the range, mg/dL.
        high: upper bound of the range, mg/dL.

    Returns:
        Time in range, %, shape (...).

    Example:
        >>> round(float(time_in_range(jnp.array([60.0, 70.0, 120.0, 180.0, 200.0]))), 3)
        60.0
    """
    bg = _check_bg(bg_mg_dl)
    return _percent((bg >= low) & (bg <= high), bg)


def time_below(bg_mg_dl: jax.typing.ArrayLike, threshold: float) -> jax.Array:
    """Percent of readings strictly below ``threshold``.

    Args:
        bg_mg_dl: blood glucose, mg/dL, shape (..., n_time); NaN readings are left out.
        threshold: mg/dL, e.g. 70 (level 1 hypoglycaemia) or 54 (level 2).

    Returns:
        Time below the threshold, %, shape (...).
    """
    bg = _check_bg(bg_mg_dl)
    return _percent(bg < threshold, bg)


def time_above(bg_mg_dl: jax.typing.ArrayLike, threshold: float) -> jax.Array:
    """Percent of readings strictly above ``threshold``.

    Args:
        bg_mg_dl: blood glucose, mg/dL, shape (..., n_time); NaN readings are left out.
        threshold: mg/dL, e.g. 180 (level 1 hyperglycaemia) or 250 (level 2).

    Returns:
        Time above the threshold, %, shape (...).
    """
    bg = _check_bg(bg_mg_dl)
    return _percent(bg > threshold, bg)


def risk_function(bg_mg_dl: jax.typing.ArrayLike) -> tuple[jax.Array, jax.Array]:
    """Kovatchev's low and high blood-glucose risk of each reading.

    The symmetrising transform is ``f = 1.509 * (ln(bg) ** 1.084 - 5.381)`` (zero at about 112.5 mg/dL); the
    low risk is ``rl = 10 f²`` where ``f < 0`` and 0 elsewhere, the high risk ``rh = 10 f²`` where ``f > 0``
    and 0 elsewhere. A NaN reading has NaN risks. The transform needs ``ln(bg) >= 0``: readings below 1 mg/dL
    (far outside any meter's range) give NaN.

    Args:
        bg_mg_dl: blood glucose, mg/dL, any shape.

    Returns:
        ``(rl, rh)``, each of the shape of ``bg_mg_dl``, dimensionless, between 0 and 100 in the physiological
        range.
    """
    bg = jnp.asarray(bg_mg_dl)
    if not jnp.issubdtype(bg.dtype, jnp.floating):
        bg = bg.astype(jnp.result_type(float))
    f = 1.509 * (jnp.log(bg) ** 1.084 - 5.381)
    risk = 10.0 * f**2
    zero = jnp.zeros_like(risk)
    return jnp.where(f > 0, zero, risk), jnp.where(f < 0, zero, risk)


def _risk_indices(bg: jax.Array) -> tuple[jax.Array, jax.Array]:
    rl, rh = risk_function(bg)
    valid = ~jnp.isnan(bg)
    return _masked_mean(rl, valid), _masked_mean(rh, valid)


def lbgi(bg_mg_dl: jax.typing.ArrayLike) -> jax.Array:
    """Low blood-glucose index: the mean low risk ``rl`` of :func:`risk_function` over all readings.

    Readings above 112.5 mg/dL count as zero risk (Kovatchev's published definition; see :func:`risk_index`
    for how simglucose differs).

    Args:
        bg_mg_dl: blood glucose, mg/dL, shape (..., n_time); NaN readings are left out.

    Returns:
        LBGI, dimensionless, shape (...).
    """
    return _risk_indices(_check_bg(bg_mg_dl))[0]


def hbgi(bg_mg_dl: jax.typing.ArrayLike) -> jax.Array:
    """High blood-glucose index: the mean high risk ``rh`` of :func:`risk_function` over all readings.

    Readings below 112.5 mg/dL count as zero risk (Kovatchev's published definition; see :func:`risk_index`
    for how simglucose differs).

    Args:
        bg_mg_dl: blood glucose, mg/dL, shape (..., n_time); NaN readings are left out.

    Returns:
        HBGI, dimensionless, shape (...).
    """
    return _risk_indices(_check_bg(bg_mg_dl))[1]


def risk_index(bg_mg_dl: jax.typing.ArrayLike) -> jax.Array:
    """Blood-glucose risk index, LBGI + HBGI: the mean of ``rl + rh`` over all readings.

    This is Kovatchev's published definition: LBGI and HBGI are means over ALL readings, a reading on the
    other side of 112.5 mg/dL counting as zero. simglucose's ``simglucose.analysis.risk.risk_index`` instead
    averages ``rl`` only over the readings with ``f < 0`` and ``rh`` only over those with ``f > 0`` (means
    over subsets), which gives larger values whenever a series crosses 112.5 mg/dL; the two agree for a
    single reading.

    Args:
        bg_mg_dl: blood glucose, mg/dL, shape (..., n_time); NaN readings are left out.

    Returns:
        Risk index, dimensionless, shape (...).
    """
    low, high = _risk_indices(_check_bg(bg_mg_dl))
    return low + high


def mean_mg_dl(bg_mg_dl: jax.typing.ArrayLike) -> jax.Array:
    """Mean blood glucose.

    Args:
        bg_mg_dl: blood glucose, mg/dL, shape (..., n_time); NaN readings are left out.

    Returns:
        Mean, mg/dL, shape (...).
    """
    return _mean(_check_bg(bg_mg_dl))


def sd_mg_dl(bg_mg_dl: jax.typing.ArrayLike, ddof: int = 0) -> jax.Array:
    """Standard deviation of blood glucose.

    Args:
        bg_mg_dl: blood glucose, mg/dL, shape (..., n_time); NaN readings are left out.
        ddof: delta degrees of freedom: the sum of squares is divided by ``n - ddof``; 0 (default) for the
            population SD that :func:`glycaemic_metrics` reports, 1 for the sample SD. Over a day of CGM
            readings the two differ by well under 1 %.

    Returns:
        Standard deviation, mg/dL, shape (...).
    """
    return _sd(_check_bg(bg_mg_dl), ddof)


def cv_percent(bg_mg_dl: jax.typing.ArrayLike) -> jax.Array:
    """Coefficient of variation: 100 x (population) standard deviation / mean.

    Args:
        bg_mg_dl: blood glucose, mg/dL, shape (..., n_time); NaN readings are left out.

    Returns:
        CV, %, shape (...).
    """
    bg = _check_bg(bg_mg_dl)
    return 100.0 * _sd(bg, 0) / _mean(bg)


def gmi_percent(bg_mg_dl: jax.typing.ArrayLike) -> jax.Array:
    """Glucose management indicator: ``3.31 + 0.02392 x mean glucose (mg/dL)`` (Bergenstal et al. 2018).

    The GMI estimates the HbA1c (%, NGSP units) that the mean glucose of at least 10-14 days of CGM implies.

    Args:
        bg_mg_dl: blood glucose, mg/dL, shape (..., n_time); NaN readings are left out.

    Returns:
        GMI, %, shape (...).
    """
    return 3.31 + 0.02392 * _mean(_check_bg(bg_mg_dl))


def glycaemic_metrics(bg_mg_dl: jax.typing.ArrayLike) -> dict[str, jax.Array]:
    """All standard glycaemic metrics of each series at once.

    Args:
        bg_mg_dl: blood glucose, mg/dL, shape (..., n_time); NaN readings are left out.

    Returns:
        A dict with the keys of ``METRIC_NAMES``, each an array of shape (...): ``mean_mg_dl``, ``sd_mg_dl``
        (population SD), ``cv_percent``, ``gmi_percent``, ``tir_70_180_percent`` (70 <= bg <= 180),
        ``below_70_percent``, ``below_54_percent`` (strictly below), ``above_180_percent``,
        ``above_250_percent`` (strictly above), ``lbgi``, ``hbgi`` and ``risk_index`` (Kovatchev's published
        means over all readings; see :func:`risk_index`).

    Example:
        >>> m = jax.jit(glycaemic_metrics)(jnp.full((3, 288), 120.0))
        >>> m["tir_70_180_percent"].shape
        (3,)
    """
    values = _all_metrics(_check_bg(bg_mg_dl))
    return {key: values[key] for key in METRIC_NAMES}


@jax.jit
def _all_metrics(bg: jax.Array) -> dict[str, jax.Array]:
    """The metrics of :func:`glycaemic_metrics`, compiled once per shape and dtype."""
    mean = _mean(bg)
    sd = _sd(bg, 0)
    low, high = _risk_indices(bg)
    return {
        "mean_mg_dl": mean,
        "sd_mg_dl": sd,
        "cv_percent": 100.0 * sd / mean,
        "gmi_percent": 3.31 + 0.02392 * mean,
        "tir_70_180_percent": _percent((bg >= 70.0) & (bg <= 180.0), bg),
        "below_70_percent": _percent(bg < 70.0, bg),
        "below_54_percent": _percent(bg < 54.0, bg),
        "above_180_percent": _percent(bg > 180.0, bg),
        "above_250_percent": _percent(bg > 250.0, bg),
        "lbgi": low,
        "hbgi": high,
        "risk_index": low + high,
    }


def metrics_table(bg_mg_dl: jax.typing.ArrayLike, names: Sequence[str] | None = None) -> pd.DataFrame:
    """The glycaemic metrics of a population as a table, one row per individual.

    Args:
        bg_mg_dl: blood glucose, mg/dL, shape (n_individuals, n_time), or (n_time,) for one individual.
        names: row labels, one per individual; default ``"0"``, ``"1"``, ...

    Returns:
        A DataFrame indexed by name (index name ``"individual"``) with the columns of ``METRIC_NAMES``.

    Raises:
        ValueError: ``bg_mg_dl`` has more than two axes, or ``names`` does not match the individuals.
    """
    bg = _check_bg(bg_mg_dl)
    if bg.ndim > 2:
        raise ValueError(
            f"metrics_table needs bg_mg_dl of shape (n_individuals, n_time) or (n_time,); "
            f"got shape {bg.shape}. "
            f"Fix: flatten the batch axes first, e.g. bg.reshape(-1, bg.shape[-1]), or use glycaemic_metrics."
        )
    bg = jnp.atleast_2d(bg)
    n = bg.shape[0]
    if names is None:
        names = [str(i) for i in range(n)]
    elif isinstance(names, str) or len(names) != n:
        got = "a single string" if isinstance(names, str) else f"{len(names)} names"
        raise ValueError(
            f"metrics_table got {got} for {n} individuals (bg_mg_dl has shape {bg.shape}). "
            f"Fix: pass exactly one name per row of bg_mg_dl."
        )
    metrics = glycaemic_metrics(bg)
    import pandas as pd  # imported on use: `import twinlab` stays light

    table = pd.DataFrame(
        {key: np.asarray(metrics[key], dtype=np.float64) for key in METRIC_NAMES},
        index=pd.Index([str(name) for name in names], name="individual"),
    )
    return table


def meets_consensus(metrics: Mapping[str, jax.typing.ArrayLike]) -> dict[str, jax.Array]:
    """Whether each series meets each target of ``CONSENSUS_TARGETS``.

    Args:
        metrics: at least the keys of ``CONSENSUS_TARGETS``, e.g. the output of :func:`glycaemic_metrics`,
            each an array of shape (...) in %.

    Returns:
        For each key of ``CONSENSUS_TARGETS``, a bool array of shape (...); a NaN metric meets no target.
        ``jnp.all(jnp.stack(list(result.values())), axis=0)`` tells whether all targets are met.

    Raises:
        ValueError: a metric the targets need is missing.
    """
    missing = [key for key in CONSENSUS_TARGETS if key not in metrics]
    if missing:
        raise ValueError(
            f"meets_consensus needs the metrics {missing}, which are missing from the given dict. "
            f"Fix: pass the output of glycaemic_metrics(bg_mg_dl)."
        )
    return {key: _COMPARISONS[op](jnp.asarray(metrics[key]), limit) for key, (op, limit) in CONSENSUS_TARGETS.items()}
