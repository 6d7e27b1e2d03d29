"""The continuous glucose monitor (CGM) of simglucose 0.2.11 in JAX, and `WithSensor`, a model wrapper that adds it.

The noise model is the reference's (Breton & Kovatchev 2008, as ``simglucose/sensor/noise_gen.py`` implements it): a
standard-normal AR(1) sequence ``e_k`` on a 15-minute grid (``e_0 ~ N(0, 1)``, ``e_k = PACF * (e_{k-1} + N(0, 1))``),
mapped through the Johnson SU transform ``eps = xi + lambda * sinh((e - gamma) / delta)`` and interpolated to the
sensor's sample times. The interpolation is the reference's own: scipy ``interp1d(kind="cubic")`` (a not-a-knot
cubic spline) on consecutive chunks of 11 grid points (150 minutes) that share their end points; each chunk's spline
is a fixed linear map of its 11 values, computed once on the host and applied here with ``jnp``.

Difference from the reference: the same statistical model, but JAX's random stream instead of numpy's
``RandomState``, so a given seed does not give the reference's noise. `CGMSensor.noise_from_normals` takes the
standard-normal draws explicitly: fed numpy's draws, it reproduces the reference's noise to rounding.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from twinlab.glucose._tables import lookup
from twinlab.sim import ModelWrapper, SimState

PyTree = Any

#: Spacing of the AR(1) grid of the noise model, minutes.
NOISE_GRID_MIN = 15
#: Grid intervals per interpolated chunk (the reference's ``CGMNoise.PRECOMPUTE``).
_CHUNK = 10


@functools.cache
def _chunk_map(sample_time_min: int) -> np.ndarray:
    """(readings per chunk, 11) matrix: chunk values on the 15-min grid -> noise at the chunk's sample times."""
    from scipy.interpolate import make_interp_spline  # imported on use: `import twinlab` stays light

    grid = np.arange(_CHUNK + 1) * float(NOISE_GRID_MIN)
    n = (_CHUNK * NOISE_GRID_MIN) // sample_time_min + 1  # the reference: floor(150 / S) + 1
    spline = make_interp_spline(grid, np.eye(_CHUNK + 1), k=3)  # what interp1d(kind="cubic") builds
    return np.asarray(spline(np.arange(n) * float(sample_time_min)))[1:]  # the reference drops each chunk's first


class CGMSensor(struct.PyTreeNode):
    """A CGM sensor: additive Johnson-SU noise with AR(1) correlation, clipping, sample-and-hold.

    Attributes:
        pacf: partial autocorrelation of the AR(1) noise between 15-minute grid points, dimensionless.
        gamma: Johnson SU shape parameter gamma, dimensionless.
        lambda_mg_dl: Johnson SU scale lambda, mg/dL.
        delta: Johnson SU shape parameter delta, dimensionless.
        xi_mg_dl: Johnson SU location xi, mg/dL.
        min_mg_dl: lowest reading the sensor reports, mg/dL.
        max_mg_dl: highest reading the sensor reports, mg/dL.
        sample_time_min: minutes between readings (static; 1 to 150).
        name: the sensor's name (static).
    """

    pacf: jax.Array
    gamma: jax.Array
    lambda_mg_dl: jax.Array
    delta: jax.Array
    xi_mg_dl: jax.Array
    min_mg_dl: jax.Array
    max_mg_dl: jax.Array
    sample_time_min: int = struct.field(pytree_node=False, default=3)
    name: str = struct.field(pytree_node=False, default="custom")

    def __post_init__(self) -> None:
        s = self.sample_time_min
        if not isinstance(s, int | np.integer) or not 1 <= s <= _CHUNK * NOISE_GRID_MIN:
            raise ValueError(
                f"CGMSensor.sample_time_min must be a whole number of minutes in [1, 150]; got {s!r}. "
                "Fix: pass an int such as 3 (Dexcom) or 5 (GuardianRT)."
            )

    @classmethod
    def named(cls, name: str, dtype: jnp.dtype | None = None) -> CGMSensor:
        """One of the reference's sensors: ``"Dexcom"`` (3 min), ``"GuardianRT"`` (5 min), ``"Navigator"`` (1 min).

        Raises:
            ValueError: for an unknown name; the message lists the valid ones.
        """
        r = lookup("sensor_params.csv", name, "CGM sensor")
        dtype = jnp.zeros(()).dtype if dtype is None else dtype

        def arr(key: str) -> jax.Array:
            return jnp.asarray(float(r[key]), dtype=dtype)

        columns = {"pacf": "PACF", "gamma": "gamma", "lambda_mg_dl": "lambda", "delta": "delta", "xi_mg_dl": "xi",
                   "min_mg_dl": "min", "max_mg_dl": "max"}  # fmt: skip
        return cls(**{f: arr(c) for f, c in columns.items()}, sample_time_min=int(float(r["sample_time"])), name=name)

    def normals_needed(self, minutes: int) -> int:
        """How many standard-normal draws `noise_from_normals` uses for minutes 0..``minutes``."""
        per_chunk = _chunk_map(self.sample_time_min).shape[0]
        chunks = -(-(int(minutes) // self.sample_time_min + 1) // per_chunk)
        return _CHUNK * chunks + 1

    def noise_from_normals(self, normals: jax.Array, minutes: int) -> jax.Array:
        """The noise of minutes 0..``minutes`` from given standard-normal draws (the deterministic core of `noise`).

        Args:
            normals: standard-normal draws, shape (n,) with n >= ``normals_needed(minutes)``, used in order: the
                first starts the AR(1) sequence, each next one drives one 15-minute step (numpy's
                ``RandomState(seed).randn(n)`` gives the reference's noise for that seed).
            minutes: last minute, a Python int.

        Returns:
            Noise in mg/dL, shape (minutes + 1,), constant between sample times: minute t holds the value of the
            reading at ``(t // sample_time_min) * sample_time_min``. Reading k is the interpolated noise at time
            ``(k + 1) * sample_time_min`` of the 15-minute grid, as in the reference's stream.
        """
        normals = jnp.asarray(normals)
        dtype, needed = normals.dtype, self.normals_needed(minutes)
        if normals.shape[0] < needed:
            raise ValueError(
                f"noise_from_normals needs {needed} draws for {minutes} minutes; got "
                f"{normals.shape[0]}. Fix: pass normals of length sensor.normals_needed(minutes)."
            )
        z = normals[:needed]
        pacf = jnp.asarray(self.pacf, dtype)

        def ar1(e: jax.Array, zk: jax.Array) -> tuple[jax.Array, jax.Array]:
            e = pacf * (e + zk)
            return e, e

        _, rest = jax.lax.scan(ar1, z[0], z[1:])
        e = jnp.concatenate([z[:1], rest])
        gamma, delta = jnp.asarray(self.gamma, dtype), jnp.asarray(self.delta, dtype)
        eps = jnp.asarray(self.xi_mg_dl, dtype) + jnp.asarray(self.lambda_mg_dl, dtype) * jnp.sinh((e - gamma) / delta)
        chunks = (needed - 1) // _CHUNK
        idx = _CHUNK * np.arange(chunks)[:, None] + np.arange(_CHUNK + 1)[None, :]
        m = jnp.asarray(_chunk_map(self.sample_time_min), dtype)
        readings = jnp.einsum("ck,sk->cs", eps[idx], m, precision=jax.lax.Precision.HIGHEST).reshape(-1)
        return readings[np.arange(int(minutes) + 1) // self.sample_time_min]

    def noise(self, minutes: int, *, key: jax.Array, dtype: jnp.dtype | None = None) -> jax.Array:
        """A random noise series for minutes 0..``minutes``, shape (minutes + 1,), mg/dL (see `noise_from_normals`).

        Args:
            minutes: last minute, a Python int.
            key: a JAX PRNG key; each key is an independent sensor.
            dtype: floating dtype (default: that of ``pacf``).
        """
        dtype = jnp.asarray(self.pacf).dtype if dtype is None else dtype
        normals = jax.random.normal(key, (self.normals_needed(minutes),), dtype)
        return self.noise_from_normals(normals, minutes)

    def read(self, bg_mg_dl: jax.Array, noise_mg_dl: jax.Array) -> jax.Array:
        """Readings of a glucose trajectory with a given noise series: ``clip(bg(sample time) + noise)``, held.

        Args:
            bg_mg_dl: glucose at minutes 0..n, shape (..., n + 1), mg/dL.
            noise_mg_dl: noise, shape broadcastable to ``bg_mg_dl`` with the same rank or (n + 1,), mg/dL.

        Returns:
            CGM readings, shape (..., n + 1), mg/dL; minute t shows the reading taken at the last sample time.
        """
        bg = jnp.asarray(bg_mg_dl)
        held = bg[..., (np.arange(bg.shape[-1]) // self.sample_time_min) * self.sample_time_min]
        noise = jnp.asarray(noise_mg_dl, bg.dtype)
        noise = jnp.broadcast_to(noise, held.shape)
        return self.clip(held + noise)

    def clip(self, cgm_mg_dl: jax.Array) -> jax.Array:
        """Clip readings to ``[min_mg_dl, max_mg_dl]`` (dtype of the readings)."""
        dtype = jnp.asarray(cgm_mg_dl).dtype
        return jnp.clip(cgm_mg_dl, jnp.asarray(self.min_mg_dl, dtype), jnp.asarray(self.max_mg_dl, dtype))

    def measure(self, bg_mg_dl: jax.Array, *, key: jax.Array) -> jax.Array:
        """Noisy CGM readings of glucose trajectories; each trajectory gets its own sensor.

        Args:
            bg_mg_dl: glucose at minutes 0..n, shape (..., n + 1), mg/dL.
            key: a JAX PRNG key; the leading axes get independent noise from ``jax.random.split(key, count)``.

        Returns:
            Readings, shape (..., n + 1), mg/dL: ``clip(bg + noise, min, max)`` at sample times, held in between.
        """
        bg = jnp.asarray(bg_mg_dl)
        n, lead = bg.shape[-1] - 1, bg.shape[:-1]
        if not lead:
            return self.read(bg, self.noise(n, key=key, dtype=bg.dtype))
        keys = jax.random.split(key, math.prod(lead))
        noise = jax.vmap(lambda k: self.noise(n, key=k, dtype=bg.dtype))(keys)
        return self.read(bg, noise.reshape(bg.shape))


@struct.dataclass
class SensorInputs:
    """Per-minute inputs of a `WithSensor` model (leaves of shape (n_minutes, ...) in a series).

    Attributes:
        inner: the wrapped model's inputs of the minute.
        noise_mg_dl: sensor noise of the reading at the *end* of the minute (minute k + 1 for step k), mg/dL.
    """

    inner: PyTree
    noise_mg_dl: jax.Array


@struct.dataclass
class SensorMemory:
    """Discrete state of a `WithSensor` model.

    Attributes:
        inner: the wrapped model's discrete state.
        minute: minutes since the start (int32); readings are taken when it is a multiple of the sample time.
        last_cgm_mg_dl: the reading shown at the previous minute, mg/dL.
        noise_mg_dl: the noise of a reading taken at the current minute, mg/dL.
    """

    inner: PyTree
    minute: jax.Array
    last_cgm_mg_dl: jax.Array
    noise_mg_dl: jax.Array


class WithSensor(ModelWrapper):
    """A glucose model with a CGM: adds the output ``cgm`` (mg/dL) and delegates everything else.

    The reading at minute t is computed from the state at minute t (``observe`` is a function of the state, so a
    controller sees it before the step from t): at minutes since the start that are multiples of
    ``sensor.sample_time_min`` it is ``clip(bg + noise, min, max)``, in between the last reading is held (the
    reference ``CGMSensor.measure``). Because the noise of minute t must be in the state at minute t, step k's inputs
    carry the noise of minute k + 1 and `init` takes the noise of minute 0: use `start` to build both from a series
    of `CGMSensor.noise`. Stacks with `twinlab.glucose._pump.WithPump`: ``WithSensor(WithPump(UVAPadova(), pump),
    sensor)``.

    Attributes:
        model: the wrapped `twinlab.sim.Model`; it must output ``bg`` in mg/dL.
        sensor: the `CGMSensor`.
    """

    sensor: CGMSensor

    @property
    def output_units(self) -> dict[str, str]:  # type: ignore[override]
        """The wrapped model's outputs plus ``cgm`` in mg/dL."""
        return {**self.model.output_units, "cgm": "mg/dL"}

    def init(self, params: PyTree, noise_mg_dl: jax.Array | float = 0.0) -> SimState:
        """The wrapped model's initial state, with the noise of the reading at minute 0 (mg/dL)."""
        inner = self.model.init(params)
        dtype = inner.x.dtype
        z = SensorMemory(
            inner=inner.z,
            minute=jnp.zeros((), jnp.int32),
            last_cgm_mg_dl=jnp.zeros((), dtype),
            noise_mg_dl=jnp.asarray(noise_mg_dl, dtype),
        )
        return SimState(x=inner.x, z=z)

    def start(self, params: PyTree, inner_inputs: PyTree, noise_mg_dl: jax.Array) -> tuple[SimState, SensorInputs]:
        """Initial state and per-minute inputs for ``twinlab.sim.simulate_one`` from a noise series.

        Args:
            params: one individual's parameters.
            inner_inputs: the wrapped model's inputs, leaves of shape (n, ...).
            noise_mg_dl: noise of minutes 0..n, shape (n + 1,), e.g. ``sensor.noise(n, key=key)``, mg/dL.
        """
        return self.init(params, noise_mg_dl[0]), SensorInputs(inner=inner_inputs, noise_mg_dl=noise_mg_dl[1:])

    def _inner(self, state: SimState) -> SimState:
        return SimState(x=state.x, z=state.z.inner)

    def _reading(self, state: SimState, params: PyTree) -> jax.Array:
        z = state.z
        bg = jnp.asarray(self.model.observe(self._inner(state), params)["bg"])
        fresh = self.sensor.clip(bg + z.noise_mg_dl)
        return jnp.where(z.minute % self.sensor.sample_time_min == 0, fresh, z.last_cgm_mg_dl)

    def hold(self, state: SimState, inputs: SensorInputs, params: PyTree) -> tuple[SimState, PyTree]:
        """Record the minute's reading, then the wrapped model's discrete update with ``inputs.inner``."""
        cgm = self._reading(state, params)
        inner, held = self.model.hold(self._inner(state), inputs.inner, params)
        z = SensorMemory(
            inner=inner.z,
            minute=state.z.minute + 1,
            last_cgm_mg_dl=cgm,
            noise_mg_dl=jnp.asarray(inputs.noise_mg_dl, cgm.dtype),
        )
        return SimState(x=inner.x, z=z), held

    def observe(self, state: SimState, params: PyTree) -> dict[str, jax.Array]:
        """The wrapped model's outputs plus ``cgm``, the reading shown at this minute (mg/dL)."""
        return {**self.model.observe(self._inner(state), params), "cgm": self._reading(state, params)}
