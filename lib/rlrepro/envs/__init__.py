"""Environments. Every task registers in one registry (``rlrepro.envs.registry``); build any of
them with ``make_env(name)``:

- gridworlds of RLSP (``room``, ``train``, ``apples``, ...; also gymnasium ids ``rlrepro/Room-v0``);
- partially observable control tasks (``rlrepro.envs.pomdp``: ``pendulum_p``, ``cartpole_v``, ...);
- the MuJoCo tasks of Deep RLSP (``rlrepro.envs.mujoco``: ``cheetah_fw``, ``hopper``, the cheetah
  skills, ...; also gymnasium ids ``rlrepro/HalfCheetahBW-v5``), with ``set_state``;
- the PointMaze targets of the skill-prior experiment (``rlrepro.envs.point_maze``:
  ``point_maze_10``, ``point_maze_20``, ``point_maze_40``);
- bodies with scaled limbs for the robustness experiment (``rlrepro.envs.bodies``:
  ``hopper_body`` with ``scales={"thigh_length": 0.5}``, ``hopper_short_legs``, ...);
- dm_control tasks from pixels, clean and with procedural visual distractors
  (``rlrepro.envs.pixels``: ``cheetah_run_pixels``, ``cheetah_run_distracted``, ...);
- any gymnasium id, e.g. ``HalfCheetah-v5``.

The tasks register on the first use of a name below (``from rlrepro.envs import make_env``), not
on import, so that tabular code (``rlrepro.envs.gridworlds``) starts without gymnasium: importing
it takes ~0.1 s, more than a tabular RLSP run on Batteries.
"""
import os

__all__ = ["make_env", "names", "register", "spaces", "task", "GRIDWORLD_IDS"]


def __getattr__(name):  # called for names not (yet) defined in this module
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        from rlrepro.envs import (  # noqa: F401  (they register their tasks)
            bodies, gridworld_env, mujoco, pixels, point_maze, pomdp, registry)
    except AttributeError as error:  # raised here it would read "cannot import name {name}"
        raise ImportError(f"rlrepro.envs: registering the tasks failed: {error!r} (MUJOCO_GL="
                          f"{os.environ.get('MUJOCO_GL')}; rlrepro.rendering)") from error

    globals().update(make_env=registry.make_env, names=registry.names, register=registry.register,
                     spaces=registry.spaces,
                     task=registry.task, GRIDWORLD_IDS=gridworld_env.GRIDWORLD_IDS)
    return globals()[name]
