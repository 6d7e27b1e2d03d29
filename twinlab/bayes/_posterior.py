"""`Posterior`: draws of one person's parameters, their diagnostics and the gate's verdict."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from twinlab.bayes._diagnostics import Diagnostics
from twinlab.bayes._prior import Prior
from twinlab.glucose._params import PatientParams
from twinlab.sim import SimState

MSG_WITHHELD = (
    "the posterior is withheld by the convergence gate:\n{failures}\n"
    "Fix: run longer (more warm-up and draws), reparametrise, free fewer parameters or add data; or, knowing the "
    "risk, pass allow_withheld=True to use it anyway."
)


class PosteriorWithheldError(RuntimeError):
    """A posterior failed the convergence gate and the caller did not override it."""


@dataclass(frozen=True)
class Posterior:
    """One person's posterior over the free parameters of a glucose twin.

    Attributes:
        method: how it was made ("nuts", "svi", "particle-filter").
        prior: the prior (names of the free parameters, their log-normal locations and scales).
        base: the person's fixed parameters (scalar leaves).
        theta: (chains, draws, k + 1 + M): the k log-parameters, the initial glucose (mg/dL), then the M
            standard-normal ``eps`` of the uncertain meals' carbohydrate (see `twinlab.bayes`).
        sigma_mg_dl: (chains, draws) CGM error scale, mg/dL.
        diagnostics: convergence numbers and the gate's failures (`Diagnostics`).
        minutes: minutes of data the posterior has seen (the clock of the next reading continues from here).
        state: per draw, the model state at ``minutes`` (leaves with a leading axis chains * draws), or None until
            computed (`twinlab.bayes.forecast` computes it for sampler posteriors).
        meal_log_sd: (M,) the log-sd of each uncertain meal's carbohydrate (to turn ``eps`` into a factor).
        extras: method-specific numbers (ELBO trace, particle ESS, timing).
    """

    method: str
    prior: Prior
    base: PatientParams
    theta: np.ndarray
    sigma_mg_dl: np.ndarray
    diagnostics: Diagnostics
    minutes: int
    state: SimState | None = None
    meal_log_sd: np.ndarray = field(default_factory=lambda: np.zeros(0))
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """The gate's verdict: True when the posterior may be used."""
        return self.diagnostics.ok

    @property
    def free(self) -> tuple[str, ...]:
        """Names of the personalised parameters."""
        return self.prior.names

    @property
    def n_draws(self) -> int:
        """Draws in all chains together."""
        return int(self.theta.shape[0] * self.theta.shape[1])

    def require_ok(self, allow_withheld: bool = False) -> None:
        """Raise `PosteriorWithheldError` (the failed rules and numbers) unless the gate passed or is overridden."""
        if not self.ok and not allow_withheld:
            raise PosteriorWithheldError(
                MSG_WITHHELD.format(failures="\n".join(f"- {f}" for f in self.diagnostics.failures))
            )

    @property
    def draws(self) -> dict[str, np.ndarray]:
        """Draws in natural units (chains, draws[, M]): free parameters, bg0_mg_dl, sigma_mg_dl, meal_factor."""
        k = len(self.free)
        out = {n: np.exp(self.theta[..., i]) for i, n in enumerate(self.free)}
        out["bg0_mg_dl"] = self.theta[..., k]
        out["sigma_mg_dl"] = self.sigma_mg_dl
        if self.theta.shape[-1] > k + 1:
            out["meal_factor"] = np.exp(self.meal_log_sd * self.theta[..., k + 1 :])
        return out

    def flat_theta(self) -> jax.Array:
        """(S, k + 1 + M) sampler coordinates of every draw, chains concatenated."""
        return jnp.asarray(self.theta.reshape(-1, self.theta.shape[-1]))

    def params(self) -> PatientParams:
        """The person's parameters for every draw: leaves with a leading axis of S = chains * draws."""
        from twinlab.bayes._glucose import with_params

        logs = self.flat_theta()[:, : len(self.free)]
        base = jax.tree.map(lambda v: jnp.broadcast_to(v, (logs.shape[0], *jnp.shape(v))), self.base)
        return with_params(base, self.free, jnp.exp(logs))

    def summary(self, mass: float = 0.9) -> Any:
        """A pandas table: per quantity the posterior mean, median, central ``mass`` interval, R-hat and ESS."""
        import pandas as pd

        lo_q, hi_q = 0.5 - mass / 2, 0.5 + mass / 2
        rows = []
        for name, v in self.draws.items():
            flat = v.reshape(v.shape[0] * v.shape[1], -1)
            for j in range(flat.shape[1]):
                key = name if v.ndim == 2 else f"{name}[{j}]"
                lo, med, hi = np.quantile(flat[:, j], [lo_q, 0.5, hi_q])
                rows.append(
                    {
                        "quantity": key,
                        "mean": float(flat[:, j].mean()),
                        "median": float(med),
                        f"q{lo_q:.0%}": float(lo),
                        f"q{hi_q:.0%}": float(hi),
                        "r_hat": self.diagnostics.rhat.get(key, np.nan),
                        "ess_bulk": self.diagnostics.ess_bulk.get(key, np.nan),
                        "ess_tail": self.diagnostics.ess_tail.get(key, np.nan),
                    }
                )
        return pd.DataFrame(rows).set_index("quantity")

    def to_arviz(self) -> Any:
        """The draws as ArviZ ``InferenceData`` (posterior group in natural units; sample stats when available)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # ArviZ 0.x announces its 1.0 refactor on import
            import arviz as az

        stats = {k: v for k, v in self.extras.items() if k in ("diverging", "energy")}
        return az.from_dict(posterior=self.draws, sample_stats=stats or None)
