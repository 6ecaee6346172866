"""The MuJoCo tasks of Deep RLSP (Lindner et al. 2021) on gymnasium v5, the time feature its
experts observed, and ``set_state``: put the simulator in the state an observation shows.

| name                | gymnasium id                      | task                    | time feature |
|---------------------|-----------------------------------|-------------------------|--------------|
| `inverted_pendulum` | `rlrepro/InvertedPendulum-v5`     | InvertedPendulum-v5     | no           |
| `cheetah_fw`        | `rlrepro/HalfCheetahFW-v5`        | HalfCheetah-v5          | yes          |
| `cheetah_bw`        | `rlrepro/HalfCheetahBW-v5`        | HalfCheetah-v5 backward | yes          |
| `hopper`            | `rlrepro/Hopper-v5`               | Hopper-v5               | yes          |
| `cheetah_balancing` | `rlrepro/HalfCheetahBalancing-v5` | balancing skill reward  | yes          |
| `cheetah_jumping`   | `rlrepro/HalfCheetahJumping-v5`   | jumping skill reward    | yes          |

Backward is HalfCheetah-v5 with ``forward_reward_weight=-1``; the skills are HalfCheetah-v5 paid
by a skill reward (below).

**Time feature.** The original's experts (rl-baselines-zoo SAC) observed ``1 - t/T`` (T = 1000)
after the observation on HalfCheetah and Hopper, not on InvertedPendulum; each registered task
observes what the original's did, so an expert, its observed states and Deep RLSP's models all
see one observation space. The feature is part of the task, not a ``make_env`` option, because
a task with it is a different task (one more observation dimension, an episode clock). Build a
task the other way with its gymnasium id: ``gym.make("rlrepro/Hopper-v5", time_feature=False)``
(the raw environment: native action range, float64 observations). The clock restarts on every
reset and on ``set_state`` (the original never restarted it in forward simulation).

**set_state(env, observation)** starts a new episode of ``env`` (``env.reset()``, which draws
from the env's random stream and restarts every wrapper's counters) and overwrites the
simulator's qpos and qvel with those the observation shows. It is the exact inverse of the
observation where the observation is complete, with these choices where it is not:

- HalfCheetah and Hopper do not observe the x position: it is set to 0, as the original did.
  Their dynamics do not depend on x (a flat floor), and the simulator state is then a function
  of the observation alone: the same observation gives the same future whatever ran before.
- Hopper observes velocities clipped to [-10, 10]: a clipped velocity is set to the bound.
- The time feature sets the clock to the nearest step, t = round((1 - feature) T) within [0, T];
  the episode ends when the feature reaches 0. Without a time feature the episode has its full
  T steps after ``set_state``.

**Skills.** The paper's balancing and jumping rollouts came from DADS skills (unsupervised
skill discovery, Sharma et al. 2020) whose policies the original repository does not ship: it
has one 100-step rollout of each (HalfCheetah-v1, no time feature), too few to draw the observed
states of fresh episodes from, and no policy to draw more. We substitute hand-written skill
rewards, on which SAC experts are trained like the other tasks' experts. Each is a function of
the state after the step (``qpos``/``qvel`` of HalfCheetah-v5; θ = torso pitch, positive nose
down), minus HalfCheetah's control cost 0.1‖a‖²:

- balancing, on the front legs (the DADS rollouts balance nose down):
  ``cos(θ - BALANCE_PITCH)``, 1 at the pitch the DADS rollouts hold;
- jumping: ``max(v_z, 0) - LEVEL_COST (1 - cos θ)``, the torso's upward velocity, less a cost
  for tilting that keeps flips and rearing from paying.

Their ``info`` keeps HalfCheetah's ``x_velocity`` (forward velocity) and adds ``reward_skill``.
"""
from __future__ import annotations

import dataclasses
import functools

import gymnasium as gym
import numpy as np
from gymnasium.envs.mujoco import MujocoEnv

from rlrepro.envs.bodies import body_class
from rlrepro.envs.registry import register

BALANCE_PITCH = 1.1  # rad, nose down (63°): the median torso pitch of the original's DADS
#                      balancing rollouts (skills/balancing_rollouts.pkl) after their first 25 steps
LEVEL_COST = 1.0  # jumping's weight of 1 - cos(pitch), which is 2 upside down and 0.015 on average
#                   in the DADS jumping rollouts, whose mean max(v_z, 0) is 0.58 m/s


def balancing_reward(qpos: np.ndarray, qvel: np.ndarray) -> float:
    """Torso pitched nose down at ``BALANCE_PITCH``: the cheetah stands on its front legs."""
    return float(np.cos(qpos[2] - BALANCE_PITCH))


def jumping_reward(qpos: np.ndarray, qvel: np.ndarray) -> float:
    """The torso's upward velocity, less a cost for tilting it (a flip also moves it up)."""
    return float(max(qvel[1], 0.0) - LEVEL_COST * (1.0 - np.cos(qpos[2])))


SKILLS = {"balancing": balancing_reward, "jumping": jumping_reward}


class SkillReward(gym.Wrapper):
    """HalfCheetah paid by a skill reward of the state after the step, less the control cost
    (the running reward is dropped; ``info`` keeps ``x_velocity``)."""

    def __init__(self, env, skill: str):
        if skill not in SKILLS:
            raise ValueError(f"skill: expected one of {sorted(SKILLS)}, got {skill!r}")
        super().__init__(env)
        self.skill_reward = SKILLS[skill]

    def step(self, action):
        obs, _, terminated, truncated, info = self.env.step(action)
        data = self.env.unwrapped.data
        skill = self.skill_reward(data.qpos, data.qvel)
        reward = skill + float(info["reward_ctrl"])  # float32 actions make a float32 cost
        return obs, reward, terminated, truncated, info | {"reward_skill": skill}


class TimeFeature(gym.Wrapper):
    """Observe the remaining time ``1 - t/T`` after the observation (rl-baselines-zoo's
    TimeFeatureWrapper); the episode ends at t = T. ``T`` defaults to the env's time limit."""

    def __init__(self, env, max_steps: int | None = None):
        super().__init__(env)
        self.max_steps = max_steps or getattr(env.spec, "max_episode_steps", None)
        if not self.max_steps or self.max_steps < 1:
            raise ValueError(f"max_steps: expected a positive episode length (or an env with a "
                             f"time limit), got {self.max_steps!r}")
        box = env.observation_space
        self.observation_space = gym.spaces.Box(np.append(box.low, 0.0), np.append(box.high, 1.0),
                                                dtype=box.dtype)
        self.t = 0

    def feature(self) -> float:
        return 1.0 - self.t / self.max_steps

    def step_of(self, feature: float) -> int:
        """The step whose feature is nearest ``feature`` (the clock of a set observation)."""
        return int(np.clip(np.rint((1.0 - feature) * self.max_steps), 0, self.max_steps))

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self.t = 0
        return np.append(obs, self.feature()), info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.t += 1
        return (np.append(obs, self.feature()), reward, terminated,
                truncated or self.t >= self.max_steps, info)


# The model camera that follows the body, for the tasks that move away: gymnasium 1.x renders
# HalfCheetah-v5 from a fixed free camera, which a running cheetah leaves within 2 m.
TRACKING_CAMERA = {"HalfCheetah-v5": "track", "Hopper-v5": "track"}


# HalfCheetah-v5 as gymnasium makes it, its model compiled from an MjSpec (rlrepro.envs.bodies):
# the same model, without MuJoCo's deprecation warning for the XML's settotalmass at each make.
COMPILED_IN_MEMORY = {"HalfCheetah-v5": dataclasses.replace(gym.spec("HalfCheetah-v5"),
                                                            entry_point=body_class("half_cheetah"))}


def make_task(base: str, time_feature: bool = True, skill: str | None = None, **kwargs) -> gym.Env:
    """The gymnasium task ``base`` (e.g. ``HalfCheetah-v5``, built with ``kwargs``), with a
    skill reward and the time feature if asked: the entry point of the ``rlrepro/...`` ids.
    Rendered, it is seen from the camera that follows the body unless another is asked for."""
    if "render_mode" in kwargs and not {"camera_id", "camera_name"} & set(kwargs):
        kwargs.setdefault("camera_name", TRACKING_CAMERA.get(base))
    env = gym.make(COMPILED_IN_MEMORY.get(base, base), **kwargs)
    if skill is not None:
        env = SkillReward(env, skill)
    return TimeFeature(env) if time_feature else env


def _time_feature(env) -> TimeFeature | None:
    """The time-feature wrapper among ``env``'s wrappers, if it has one."""
    while isinstance(env, gym.Wrapper):
        if isinstance(env, TimeFeature):
            return env
        env = env.env
    return None


def _skipped_positions(simulator: MujocoEnv) -> int:
    """How many leading qpos entries the observation leaves out (x for HalfCheetah, Hopper)."""
    return simulator.model.nq + simulator.model.nv - simulator.observation_space.shape[0]


def observe(env) -> np.ndarray:
    """The observation of the simulator's current state, float32 as ``make_env`` observes."""
    obs = env.unwrapped._get_obs()  # the task's own observation function
    clock = _time_feature(env)
    if clock is not None:
        obs = np.append(obs, clock.feature())
    return obs.astype(np.float32)


def set_state(env, observation) -> np.ndarray:
    """Start a new episode of ``env`` in the state ``observation`` shows (qpos, qvel and the
    clock; see the module docstring for what is not observed); returns its observation."""
    simulator = env.unwrapped
    if not isinstance(simulator, MujocoEnv):
        raise ValueError(f"env: expected a MuJoCo task, got {simulator.__class__.__name__}")
    clock = _time_feature(env)
    skipped = _skipped_positions(simulator)
    nq, nv = simulator.model.nq, simulator.model.nv
    size = nq - skipped + nv + (clock is not None)
    if env.observation_space.shape != (size,):
        raise ValueError(f"env: expected single observations of length {size} (make_env without "
                         f"concat), got observation space {env.observation_space.shape}")
    obs = np.asarray(observation, dtype=np.float64)
    if obs.shape != (size,):
        raise ValueError(f"observation: expected length {size} ({nq - skipped} positions, {nv} "
                         f"velocities{', the time feature' if clock else ''}), "
                         f"got shape {obs.shape}")
    if not np.all(np.isfinite(obs)):
        raise ValueError(f"observation: expected finite values, got {obs}")
    env.reset()
    qpos = np.concatenate([np.zeros(skipped), obs[:nq - skipped]])
    simulator.set_state(qpos, obs[nq - skipped:nq - skipped + nv])
    if clock is not None:
        clock.t = clock.step_of(obs[-1])
    return observe(env)


MUJOCO_IDS = {  # name: (gymnasium id, keyword arguments of make_task, description)
    "inverted_pendulum": ("rlrepro/InvertedPendulum-v5",
                          dict(base="InvertedPendulum-v5", time_feature=False),
                          "InvertedPendulum-v5 (+1 per step upright, 1000 steps)"),
    "cheetah_fw": ("rlrepro/HalfCheetahFW-v5", dict(base="HalfCheetah-v5"),
                   "HalfCheetah-v5 running forward, time feature"),
    "cheetah_bw": ("rlrepro/HalfCheetahBW-v5",
                   dict(base="HalfCheetah-v5", forward_reward_weight=-1.0),
                   "HalfCheetah-v5 running backward (forward_reward_weight=-1), time feature"),
    "hopper": ("rlrepro/Hopper-v5", dict(base="Hopper-v5"), "Hopper-v5, time feature"),
    "cheetah_balancing": ("rlrepro/HalfCheetahBalancing-v5",
                          dict(base="HalfCheetah-v5", skill="balancing"),
                          "HalfCheetah-v5 balancing on its front legs (substitute for a DADS "
                          "skill), time feature"),
    "cheetah_jumping": ("rlrepro/HalfCheetahJumping-v5",
                        dict(base="HalfCheetah-v5", skill="jumping"),
                        "HalfCheetah-v5 jumping (substitute for a DADS skill), time feature"),
}

for _name, (_id, _kwargs, _description) in MUJOCO_IDS.items():
    if _id not in gym.registry:
        gym.register(_id, entry_point="rlrepro.envs.mujoco:make_task", kwargs=_kwargs)
    register(_name, functools.partial(gym.make, _id), _description)
