"""Rendering speed of the pixel tasks (``rlrepro.envs.pixels``) against dm_control's own
``physics.render``, on this machine's CPU (``MUJOCO_GL=egl``: Mesa's software rasteriser).

1. Frames per second of one camera at each image size: dm_control's ``physics.render`` (shadows
   and reflections on, its default) against ours (``mujoco.Renderer`` with both off); the
   ratio ours / dm_control. Each is measured ``--repeats`` times, alternating which goes first
   (this VM's speed drifts): median ratio [min, max].
2. Agent steps per second of a whole task (physics, action repeat, one picture a step), clean and
   with distractors, and the seconds of a reset (a distracted reset recolours the sky's and the
   floor's textures and uploads them).

    MUJOCO_GL=egl python benchmarks/pixel_rendering.py [--frames 300] [--repeats 3]
"""
import argparse
import os
import pathlib
import time

import numpy as np

from rlrepro.envs.pixels import TASKS, PixelTask

os.environ.setdefault("MUJOCO_GL", "egl")


def frames_per_second(render, frames: int) -> float:
    render()  # the first frame makes the context
    start = time.perf_counter()
    for _ in range(frames):
        render()
    return frames / (time.perf_counter() - start)


def task_speed(domain, task, size, distract, steps):
    env = PixelTask(domain, task, image_size=size, action_repeat=TASKS[domain, task],
                    distract=distract)
    env.reset(seed=0)
    resets = []
    for seed in range(1, 4):
        start = time.perf_counter()
        env.reset(seed=seed)
        resets.append(time.perf_counter() - start)
    action = np.zeros(env.action_space.shape, dtype=np.float32)
    start = time.perf_counter()
    for _ in range(steps):
        env.step(action)
    per_second = steps / (time.perf_counter() - start)
    env.close()
    return per_second, float(np.mean(resets))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--out", default=str(pathlib.Path(__file__).parent / "results"
                                             / "pixel_rendering.md"))
    args = parser.parse_args()
    lines = ["# Pixel rendering speed (one thread, MUJOCO_GL=egl)", "",
             f"`python benchmarks/pixel_rendering.py --frames {args.frames} --repeats "
             f"{args.repeats} --steps {args.steps}`", "",
             "| image | dm_control render, fps | ours, fps | ours / dm_control, median "
             "[min, max] |",
             "|---|--:|--:|--:|"]
    env = PixelTask("cheetah", "run")
    env.reset(seed=0)
    for size in (32, 64, 84):
        ours, theirs = [], []
        for repeat in range(args.repeats):
            sides = [("ours", lambda: env._picture(size, size)),
                     ("dm_control", lambda: env.physics.render(size, size, camera_id=0))]
            for name, render in (sides if repeat % 2 == 0 else sides[::-1]):
                (ours if name == "ours" else theirs).append(frames_per_second(render,
                                                                               args.frames))
        ratios = np.array(ours) / np.array(theirs)
        lines.append(f"| cheetah {size}x{size} | {np.median(theirs):.0f} | {np.median(ours):.0f} "
                     f"| {np.median(ratios):.2f}x [{ratios.min():.2f}, {ratios.max():.2f}] |")
        print(lines[-1], flush=True)
    env.close()
    lines += ["", "| task (64x64, PlaNet's action repeat) | agent steps/s clean | distracted | "
                  "reset s clean | distracted |", "|---|--:|--:|--:|--:|"]
    for domain, task in TASKS:
        clean = task_speed(domain, task, 64, False, args.steps)
        distracted = task_speed(domain, task, 64, True, args.steps)
        lines.append(f"| {domain}-{task} (repeat {TASKS[domain, task]}) | {clean[0]:.0f} | "
                     f"{distracted[0]:.0f} | {clean[1]:.3f} | {distracted[1]:.3f} |")
        print(lines[-1], flush=True)
    pathlib.Path(args.out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
