"""Convergence diagnostics as Stan and ArviZ define them, and the gate that withholds a posterior that fails them.

Rank-normalised split R-hat, bulk and tail effective sample sizes (Vehtari, Gelman, Simpson, Carpenter and Bürkner,
"Rank-normalization, folding, and localization: an improved R-hat", Bayesian Analysis 2021) and E-BFMI (Betancourt
2016). Computed here in NumPy from draws of shape (chains, draws); `tests/bayes/test_diagnostics.py` checks them
against ArviZ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtri
from scipy.stats import rankdata

#: The gate's thresholds (PyMC's convergence checks, Stan's recommendations, posteriordb's reference posteriors).
RHAT_MAX = 1.01
ESS_PER_CHAIN_MIN = 100.0
EBFMI_MIN = 0.3
CHAINS_MIN = 4


def _split(x: np.ndarray) -> np.ndarray:
    """(chains, draws) -> (2 * chains, draws // 2): each chain cut in two halves (odd last draw dropped)."""
    half = x.shape[1] // 2
    return np.concatenate([x[:, :half], x[:, x.shape[1] - half :]], axis=0)


def _rank_normalise(x: np.ndarray) -> np.ndarray:
    """Ranks over all draws mapped through the normal quantile function (fractional offsets 3/8 as in the paper)."""
    ranks = rankdata(x, method="average").reshape(x.shape)
    return ndtri((ranks - 0.375) / (x.size + 0.25))


def _rhat_basic(x: np.ndarray) -> float:
    _chains, n = x.shape
    chain_mean = x.mean(axis=1)
    within = x.var(axis=1, ddof=1).mean()
    between = n * chain_mean.var(ddof=1)
    if within == 0:
        return math.nan if between else 1.0
    var_plus = (n - 1) / n * within + between / n
    return float(np.sqrt(var_plus / within))


def rhat(x: np.ndarray) -> float:
    """Rank-normalised split R-hat of draws ``x`` of shape (chains, draws): the larger of bulk and folded R-hat."""
    x = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        return math.nan
    s = _split(x)
    bulk = _rhat_basic(_rank_normalise(s))
    folded = _rhat_basic(_rank_normalise(np.abs(s - np.median(s))))
    return max(bulk, folded)


def _autocov(x: np.ndarray) -> np.ndarray:
    """Autocovariance of each chain at every lag (biased, divided by n), by FFT; (chains, n) -> (chains, n)."""
    n = x.shape[1]
    size = 1 << (2 * n - 1).bit_length()
    f = np.fft.rfft(x - x.mean(axis=1, keepdims=True), n=size, axis=1)
    return np.fft.irfft(f * np.conj(f), n=size, axis=1)[:, :n] / n


def _ess(x: np.ndarray) -> float:
    """Effective sample size of (chains, n) draws: Stan's estimator with Geyer's initial monotone sequence."""
    chains, n = x.shape
    if np.ptp(x) == 0 or n < 4:
        return math.nan
    acov = _autocov(x)
    chain_var = acov[:, 0] * n / (n - 1)
    mean_var = chain_var.mean()
    var_plus = mean_var * (n - 1) / n + (x.mean(axis=1).var(ddof=1) if chains > 1 else 0.0)
    rho = np.zeros(n)
    rho[0] = 1.0
    even, odd = 1.0, 1.0 - (mean_var - acov[:, 1].mean()) / var_plus
    rho[1] = odd
    t = 1
    while t < n - 3 and even + odd > 0:
        even = 1.0 - (mean_var - acov[:, t + 1].mean()) / var_plus
        odd = 1.0 - (mean_var - acov[:, t + 2].mean()) / var_plus
        if even + odd >= 0:
            rho[t + 1], rho[t + 2] = even, odd
        t += 2
    max_t = t - 2
    if even > 0:  # the last even autocorrelation, when positive, still counts (half of it, below)
        rho[max_t + 1] = even
    t = 1  # Geyer: the sums of consecutive pairs must not increase
    while t <= max_t - 2:
        if rho[t + 1] + rho[t + 2] > rho[t - 1] + rho[t]:
            rho[t + 1] = rho[t + 2] = (rho[t - 1] + rho[t]) / 2.0
        t += 2
    total = chains * n
    tau = max(-1.0 + 2.0 * np.sum(rho[: max_t + 1]) + rho[max_t + 1], 1.0 / np.log10(total))
    return float(total / tau)


def ess_bulk(x: np.ndarray) -> float:
    """Bulk effective sample size: ESS of the rank-normalised split chains, shape (chains, draws) in."""
    x = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        return math.nan
    return _ess(_rank_normalise(_split(x)))


def ess_tail(x: np.ndarray) -> float:
    """Tail effective sample size: the smaller ESS of the indicators of the 5% and 95% quantiles."""
    x = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        return math.nan
    s = _split(x)
    lo, hi = np.quantile(s, [0.05, 0.95])
    return min(_ess((s <= lo).astype(np.float64)), _ess((s <= hi).astype(np.float64)))


def ebfmi(energy: np.ndarray) -> np.ndarray:
    """E-BFMI per chain from the Hamiltonian energy of each draw, shape (chains, draws) in, (chains,) out."""
    e = np.asarray(energy, dtype=np.float64)
    return np.sum(np.diff(e, axis=1) ** 2, axis=1) / np.sum((e - e.mean(axis=1, keepdims=True)) ** 2, axis=1)


@dataclass(frozen=True)
class Diagnostics:
    """Convergence numbers of one posterior and the gate's verdict.

    Attributes:
        rhat: per quantity (scalar quantities, or ``name[i]`` for vector ones), rank-normalised split R-hat.
        ess_bulk: per quantity, bulk ESS (all chains together).
        ess_tail: per quantity, tail ESS.
        divergences: post-warmup divergent transitions (0 for methods without them).
        ebfmi: per chain (empty for methods without an energy).
        chains: number of chains.
        draws: draws per chain.
        failures: one line per failed rule, with its numbers; empty when the posterior passes.
        method: the inference method ("nuts", "svi", ...).
    """

    rhat: dict[str, float]
    ess_bulk: dict[str, float]
    ess_tail: dict[str, float]
    divergences: int
    ebfmi: tuple[float, ...]
    chains: int
    draws: int
    method: str
    failures: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """True when every rule of the gate passes."""
        return not self.failures

    def __str__(self) -> str:
        head = f"{self.method}: {self.chains} chains x {self.draws} draws, {self.divergences} divergences"
        if self.ebfmi:
            head += f", E-BFMI min {min(self.ebfmi):.2f}"
        rows = [
            f"  {k:<22} R-hat {self.rhat[k]:.4f}  ESS bulk {self.ess_bulk[k]:7.0f}  tail {self.ess_tail[k]:7.0f}"
            for k in self.rhat
        ]
        verdict = "gate: passed" if self.ok else "gate: WITHHELD\n" + "\n".join(f"  - {f}" for f in self.failures)
        return "\n".join([head, *rows, verdict])


def _flatten(draws: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Name -> (chains, draws, ...) as scalar quantities name or name[i] -> (chains, draws)."""
    out = {}
    for name, v in draws.items():
        v = np.asarray(v)
        if v.ndim == 2:
            out[name] = v
        else:
            flat = v.reshape(v.shape[0], v.shape[1], -1)
            for i in range(flat.shape[2]):
                out[f"{name}[{i}]"] = flat[:, :, i]
    return out


def diagnose(
    draws: dict[str, np.ndarray],
    *,
    method: str,
    divergences: np.ndarray | None = None,
    energy: np.ndarray | None = None,
    extra_failures: tuple[str, ...] = (),
) -> Diagnostics:
    """Compute the diagnostics of ``draws`` (name -> (chains, draws, ...)) and apply the gate.

    The gate withholds the posterior when any of: R-hat >= 1.01; bulk or tail ESS < 100 per chain; any divergence;
    E-BFMI < 0.3 in a chain; fewer than 4 chains; any non-finite draw. ``extra_failures`` adds method-specific
    failures (for example an importance-sampling check of a variational fit).
    """
    scalars = _flatten(draws)
    chains, n = next(iter(scalars.values())).shape
    failures = list(extra_failures)
    bad = [k for k, v in scalars.items() if not np.all(np.isfinite(v))]
    if bad:
        failures.append(f"non-finite draws in {', '.join(bad)}")
    r = {k: rhat(v) for k, v in scalars.items()}
    eb = {k: ess_bulk(v) for k, v in scalars.items()}
    et = {k: ess_tail(v) for k, v in scalars.items()}
    if chains < CHAINS_MIN:
        failures.append(f"{chains} chains < {CHAINS_MIN}: R-hat cannot detect non-convergence reliably")
    worst = [f"{k} {v:.4f}" for k, v in r.items() if not v < RHAT_MAX and k not in bad]
    if worst:
        failures.append(f"R-hat >= {RHAT_MAX}: {', '.join(worst)}")
    need = ESS_PER_CHAIN_MIN * chains
    low = [f"{k} bulk {eb[k]:.0f} tail {et[k]:.0f}" for k in scalars if k not in bad and not min(eb[k], et[k]) >= need]
    if low:
        failures.append(f"ESS < {ESS_PER_CHAIN_MIN:.0f} per chain (< {need:.0f} in all): {', '.join(low)}")
    n_div = int(np.sum(divergences)) if divergences is not None else 0
    if n_div:
        failures.append(f"{n_div} divergent transitions after warm-up")
    bfmi: tuple[float, ...] = ()
    if energy is not None:
        bfmi = tuple(float(b) for b in ebfmi(energy))
        low_bfmi = [f"chain {i} {b:.2f}" for i, b in enumerate(bfmi) if not b >= EBFMI_MIN]
        if low_bfmi:
            failures.append(f"E-BFMI < {EBFMI_MIN}: {', '.join(low_bfmi)}")
    return Diagnostics(
        rhat=r,
        ess_bulk=eb,
        ess_tail=et,
        divergences=n_div,
        ebfmi=bfmi,
        chains=chains,
        draws=n,
        method=method,
        failures=tuple(failures),
    )
