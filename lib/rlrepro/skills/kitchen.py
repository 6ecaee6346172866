"""A user-supplied kitchen data set (Minari format) behind the skills' data interface.

SPiRL's kitchen skills come from the D4RL kitchen demonstrations, which are downloaded, so they
cannot be part of the pipeline here: ``load_minari(path)`` reads a copy the user put on disk
(e.g. Minari's ``D4RL/kitchen/mixed-v2``, fetched with ``minari download`` elsewhere) into the
same ``skills.data.Demonstrations`` the maze data uses, so the skill models train on it
unchanged (``SkillModelConfig.state_dim`` = the whole observation, as SPiRL's kitchen model).

Minari's layout: ``<dataset>/data/main_data.hdf5`` with one group ``episode_<id>`` per episode
holding ``actions (T, act_dim)`` and ``observations (T + 1, obs_dim)`` (the final observation
included), or, for dictionary observations as the kitchen's, a group of them
(``observations/observation`` is the kitchen's 59-D state).

The kitchen environment itself does not run here: gymnasium-robotics' ``FrankaKitchen-v1``
stops at reset with an AssertionError in ``gymnasium_robotics.utils.mujoco_utils.get_joint_qpos``
under mujoco >= 3.12: ``model.jnt_type[i]`` is a numpy integer, and the joint-type enum no
longer equals one from its own side: ``jnt_type == mjJNT_HINGE`` is True but
``mjJNT_HINGE == jnt_type`` is False, and ``in`` asks the enum (``jnt_type in (mjJNT_HINGE,
mjJNT_SLIDE)`` is False for a hinge; measured with mujoco 3.17), so every joint fails the check.
Comparing ``int(joint_type)`` in that function (a one-line patch, or a gymnasium-robotics
release with it) lifts it; pinning mujoco < 3.12 does not, since dm_control 1.0.50 needs
mujoco 3.17.
"""
from __future__ import annotations

import pathlib
import re

import numpy as np

from rlrepro.skills.data import Demonstrations

MINARI_FILE = pathlib.Path("data") / "main_data.hdf5"


def load_minari(path, observation_key: str = "observation") -> Demonstrations:
    """The episodes of the Minari data set at ``path`` (its folder, or its ``main_data.hdf5``);
    ``observation_key`` picks the array of dictionary observations. A missing or malformed
    file raises an error naming it and what was expected."""
    import h5py

    path = pathlib.Path(path)
    file = path / MINARI_FILE if path.is_dir() else path
    if not file.is_file():
        raise FileNotFoundError(f"{path}: no Minari data set (expected a folder holding "
                                f"{MINARI_FILE}, or that file)")
    try:
        handle = h5py.File(file, "r")
    except OSError as error:
        raise ValueError(f"{file}: not an HDF5 file ({error})") from None
    observations, actions, ends, terminated = [], [], [], []
    with handle:
        names = sorted((n for n in handle if re.fullmatch(r"episode_\d+", n)),
                       key=lambda n: int(n.split("_")[1]))
        if not names:
            raise ValueError(f"{file}: no 'episode_<id>' groups (a Minari data set has one per "
                             f"episode)")
        for name in names:
            episode = handle[name]
            missing = [k for k in ("observations", "actions") if k not in episode]
            if missing:
                raise ValueError(f"{file}: {name} has no {missing} (expected 'observations' "
                                 f"and 'actions')")
            obs = episode["observations"]
            if isinstance(obs, h5py.Group):
                if observation_key not in obs:
                    raise ValueError(f"{file}: {name}/observations has keys {sorted(obs)}, not "
                                     f"{observation_key!r} (observation_key)")
                obs = obs[observation_key]
            obs, act = np.asarray(obs, np.float32), np.asarray(episode["actions"], np.float32)
            if obs.ndim != 2 or act.ndim != 2 or len(obs) != len(act) + 1:
                raise ValueError(f"{file}: {name} has observations {obs.shape} and actions "
                                 f"{act.shape}; expected (T + 1, obs_dim) and (T, act_dim)")
            observations.append(obs[:-1])  # the observation each action was taken in
            actions.append(act)
            ends.append(sum(len(a) for a in actions))
            terminated.append(bool(np.asarray(episode["terminations"])[-1])
                              if "terminations" in episode else False)
    dims = {(o.shape[1], a.shape[1]) for o, a in zip(observations, actions)}
    if len(dims) > 1:
        raise ValueError(f"{file}: episodes of different shapes {sorted(dims)}")
    return Demonstrations(np.concatenate(observations), np.concatenate(actions), np.array(ends),
                          np.array(terminated), np.full(len(ends), -1))
