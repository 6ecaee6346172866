"""GIFs of policies: one deterministic episode, rendered frame by frame."""
from __future__ import annotations

import pathlib

import imageio.v2 as imageio
import mujoco
import numpy as np
import torch

from rlrepro import rendering
from rlrepro.evaluation.rollouts import run_episodes


def pendulum_frame(theta: float, size: int = 256) -> np.ndarray:
    """A pendulum at angle ``theta`` (0 = upright) as an RGB image, drawn without pygame."""
    y, x = np.mgrid[0:size, 0:size].astype(float)
    centre, length = size / 2, size * 0.4
    tip = np.array([centre + length * np.sin(theta), centre - length * np.cos(theta)])
    along = np.clip(((x - centre) * (tip[0] - centre) + (y - centre) * (tip[1] - centre))
                    / length**2, 0, 1)
    distance = np.hypot(x - centre - along * (tip[0] - centre), y - centre - along * (tip[1] - centre))
    image = np.full((size, size, 3), 255, dtype=np.uint8)
    image[distance < size * 0.04] = (204, 77, 77)
    image[np.hypot(x - centre, y - centre) < size * 0.03] = (40, 40, 40)
    return image


def render(env) -> np.ndarray:
    """The current frame of ``env``: its own renderer (MuJoCo's without shadows and reflections,
    5x faster on a CPU), or the pendulum drawing."""
    base = env.unwrapped
    if hasattr(base, "mujoco_renderer") or hasattr(base, "_env"):  # MuJoCo's or dm_control's
        rendering.require()
    if hasattr(base, "mujoco_renderer") and base.render_mode == "rgb_array":
        scene = base.mujoco_renderer._get_viewer("rgb_array").scn
        scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = 0
        scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = 0
        return base.render()
    if hasattr(base, "_env") or getattr(base, "render_mode", None) == "rgb_array":
        return base.render()
    if hasattr(base, "state") and hasattr(base, "max_torque"):  # the classic pendulum
        return pendulum_frame(float(base.state[0]))
    raise ValueError(f"no renderer for {base.__class__.__name__}")


def record_episode(policy, env, path, seed: int = 0, every: int = 2, fps: int = 25) -> float:
    """Write a GIF of one deterministic episode of a one-member policy (every ``every``-th
    frame) to ``path``; returns the episode's return. torch's global random stream is seeded
    by ``seed`` for the episode (and restored after): a policy that samples from it (MPC-CEM's
    candidate plans, an RSSM's posterior) plays the same episode, so the GIF is the same file,
    whatever ran before it."""
    frames = []

    def keep_frame(t, infos):
        if t % every == 0:
            frames.append(render(env))

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        total = float(run_episodes(policy, [env], [seed], on_step=keep_frame)[0])
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    imageio.mimsave(path, frames, duration=1000 / fps, loop=0)
    return total
