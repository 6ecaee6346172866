"""Environments. Every task registers in one registry (``rlrepro.envs.registry``) when this
package is imported; build any of them with ``make_env(name)``:

- gridworlds of RLSP (``room``, ``train``, ``apples``, ...; also gymnasium ids ``rlrepro/Room-v0``);
- partially observable control tasks (``rlrepro.envs.pomdp``: ``pendulum_p``, ``cartpole_v``, ...);
- any gymnasium id, e.g. ``HalfCheetah-v5``.
"""
import functools

import gymnasium as gym

from rlrepro.envs import pomdp  # noqa: F401  (registers the control tasks)
from rlrepro.envs.registry import make_env, names, register, task

__all__ = ["make_env", "names", "register", "task", "GRIDWORLD_IDS"]

GRIDWORLD_IDS = {
    "room": "rlrepro/Room-v0",
    "room_bad": "rlrepro/RoomBad-v0",
    "train": "rlrepro/Train-v0",
    "apples": "rlrepro/Apples-v0",
    "batteries": "rlrepro/Batteries-v0",
    "batteries_easy": "rlrepro/BatteriesEasy-v0",
}

for _problem, _id in GRIDWORLD_IDS.items():
    if _id not in gym.registry:
        gym.register(_id, entry_point="rlrepro.envs.gridworld_env:GridworldEnv",
                     kwargs={"problem": _problem})
    register(_problem, functools.partial(gym.make, _id),
             f"RLSP gridworld {_problem} (true reward, starts in s_-T)")
