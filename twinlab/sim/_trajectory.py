"""`Trajectory`: what a simulation returns (times, states and named outputs), with pandas and xarray views."""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
from flax import struct


class Trajectory(struct.PyTreeNode):
    """A simulated trajectory of one individual or of a population.

    Outputs are also reachable as attributes: ``traj.bg`` is ``traj.outputs["bg"]``.

    Attributes:
        t: times, shape (n_times,), in the model's time unit (minutes for the glucose model).
        x: continuous states, shape (*population, n_times, n_states), or None when states were not saved.
        outputs: named outputs, each of shape (*population, n_times).
        state_names: names of the state components (static).
        state_units: units of the state components (static).
        units: unit of each output and of the time axis under key "t" (static).
        names: names of the individuals of a population, or None (static).
    """

    t: jax.Array
    x: jax.Array | None
    outputs: dict[str, jax.Array]
    state_names: tuple[str, ...] = struct.field(pytree_node=False, default=())
    units: tuple[tuple[str, str], ...] = struct.field(pytree_node=False, default=())
    names: tuple[str, ...] | None = struct.field(pytree_node=False, default=None)
    state_units: tuple[str, ...] = struct.field(pytree_node=False, default=())

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: expose outputs as attributes.
        outputs = self.__dict__.get("outputs")
        if outputs is not None and name in outputs:
            return outputs[name]
        known = sorted(outputs) if outputs is not None else []
        raise AttributeError(f"Trajectory has no attribute or output {name!r}; its outputs are {known}.")

    @property
    def is_population(self) -> bool:
        """Whether the outputs carry a leading population axis."""
        first = next(iter(self.outputs.values()))
        return np.ndim(first) == 2

    def to_pandas(self) -> Any:
        """A `pandas.DataFrame` in long form: one row per (individual, time), one column per output.

        Columns carry their units, e.g. ``"bg [mg/dL]"``.
        """
        import pandas as pd

        units = dict(self.units)
        t = np.asarray(self.t)
        cols = {f"{k} [{units.get(k, '-')}]": np.asarray(v) for k, v in self.outputs.items()}
        t_col = f"t [{units.get('t', '-')}]"
        if not self.is_population:
            return pd.DataFrame({t_col: t, **cols})
        n = next(iter(cols.values())).shape[0]
        names = list(self.names) if self.names is not None else [str(i) for i in range(n)]
        frames = [
            pd.DataFrame({"individual": name, t_col: t, **{k: v[i] for k, v in cols.items()}})
            for i, name in enumerate(names)
        ]
        return pd.concat(frames, ignore_index=True)

    def to_xarray(self) -> Any:
        """An `xarray.Dataset` with dims ``(individual,) time``, outputs as variables with ``units`` attributes."""
        import xarray as xr

        units = dict(self.units)
        dims: tuple[str, ...] = ("individual", "time") if self.is_population else ("time",)
        data_vars: dict[str, Any] = {
            k: (dims, np.asarray(v), {"units": units.get(k, "")}) for k, v in self.outputs.items()
        }
        coords: dict[str, Any] = {"time": ("time", np.asarray(self.t), {"units": units.get("t", "")})}
        if self.is_population:
            n = next(iter(self.outputs.values())).shape[0]
            coords["individual"] = list(self.names) if self.names is not None else list(range(n))
        if self.x is not None:
            data_vars["states"] = ((*dims, "state"), np.asarray(self.x), {"units": list(self.state_units)})
            coords["state"] = list(self.state_names)
        return xr.Dataset(data_vars, coords=coords)
