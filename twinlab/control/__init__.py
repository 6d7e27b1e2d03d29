"""twinlab.control: choosing insulin doses in the twin, behind a safety layer.

A `GlucoseEnv` makes the glucose twin a Brax environment; policies (`BasalBolus`, `PID`, `NetworkPolicy`, or
one trained by `train`) see only the CGM, insulin on board, announced meals, the time and the therapy settings;
`SafetyLayer` caps every dose and refuses insulin on bad data, recording why; `evaluate` scores a policy on the
virtual patients; `dose_now` replays a recorded day through a policy and recommends the dose at its newest reading.
"""

from twinlab.control._env import REWARDS, Core, GlucoseEnv, meal_bolus_u, residual_dose, risk_reward, tir_reward
from twinlab.control._faults import SensorFault
from twinlab.control._gym import GymEnv
from twinlab.control._iob import iob_fraction, iob_weights
from twinlab.control._mpc import MPC, MPCState
from twinlab.control._policies import MLP, PID, ActionPolicy, BasalBolus, NetworkPolicy, normalise
from twinlab.control._replay import Recommendation, dose_now, record_observations, replay
from twinlab.control._rollout import Episode, Evaluation, evaluate, meals_of, rollout, stack_policies
from twinlab.control._safety import AGE_GROUP_LIMITS, REASONS, Audit, SafetyLayer, audit_table, reason_names
from twinlab.control._train import load_params, save_params, train, train_apg, train_ppo, train_sac
from twinlab.control._types import Dose, Observation

__all__ = [
    "AGE_GROUP_LIMITS",
    "MLP",
    "MPC",
    "PID",
    "REASONS",
    "REWARDS",
    "ActionPolicy",
    "Audit",
    "BasalBolus",
    "Core",
    "Dose",
    "Episode",
    "Evaluation",
    "GlucoseEnv",
    "GymEnv",
    "MPCState",
    "NetworkPolicy",
    "Observation",
    "Recommendation",
    "SafetyLayer",
    "SensorFault",
    "audit_table",
    "dose_now",
    "evaluate",
    "iob_fraction",
    "iob_weights",
    "load_params",
    "meal_bolus_u",
    "meals_of",
    "normalise",
    "reason_names",
    "record_observations",
    "replay",
    "residual_dose",
    "risk_reward",
    "rollout",
    "save_params",
    "stack_policies",
    "tir_reward",
    "train",
    "train_apg",
    "train_ppo",
    "train_sac",
]
