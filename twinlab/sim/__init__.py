"""twinlab.sim: the differentiable simulator contract (model, parameters, integrator, driver)."""

from twinlab.sim._diffrax import Diffrax
from twinlab.sim._integrators import RK4, Euler
from twinlab.sim._model import Model, SimState, population_size, stack, unstack
from twinlab.sim._sharding import pad_population, population_mesh, shard_population
from twinlab.sim._simulate import simulate, simulate_one
from twinlab.sim._trajectory import Trajectory
from twinlab.sim._wrapper import ModelWrapper

__all__ = [
    "RK4",
    "Diffrax",
    "Euler",
    "Model",
    "ModelWrapper",
    "SimState",
    "Trajectory",
    "pad_population",
    "population_mesh",
    "population_size",
    "shard_population",
    "simulate",
    "simulate_one",
    "stack",
    "unstack",
]
