"""MuJoCo's OpenGL backend follows what the machine has, and its absence is named."""
import os
import subprocess
import sys

import pytest

from helpers import ROOT
from rlrepro import rendering


def loader(*present):
    return lambda library: library in present


@pytest.mark.parametrize("environ, present, expected", [
    ({}, ["libEGL.so.1", "libOSMesa.so.8"], "egl"),
    ({}, ["libOSMesa.so.8"], "osmesa"),
    ({"DISPLAY": ":0"}, [], "glfw"),
    ({}, [], "disable"),
    ({"MUJOCO_GL": "osmesa"}, ["libEGL.so.1"], "osmesa"),  # the user's choice stands
])
def test_backend_follows_the_libraries_present(environ, present, expected):
    assert rendering.choose_backend(environ, loader(*present)) == expected


def run_python(code, **environ):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=os.environ | environ, cwd=ROOT)


def test_rendering_without_a_backend_names_MUJOCO_GL():
    """Simulation works without OpenGL; rendering says which variable and what to install."""
    result = run_python(
        "from rlrepro.envs import make_env\n"
        "from rlrepro.evaluation.videos import render\n"
        "env = make_env('cheetah_fw', render_mode='rgb_array'); env.reset(seed=0)\n"
        "env.step(env.action_space.sample())\n"
        "render(env)\n", MUJOCO_GL="disable")
    assert "RuntimeError: MUJOCO_GL=disable: no OpenGL backend" in result.stderr, result.stderr
    assert "apt install libegl1" in result.stderr


def test_a_failing_import_in_envs_is_reported_as_itself(tmp_path):
    """A missing EGL loader makes PyOpenGL raise an AttributeError while MuJoCo is imported;
    inside ``rlrepro.envs.__getattr__`` Python would report it as a missing ``make_env``."""
    (tmp_path / "mujoco.py").write_text(
        "raise AttributeError(\"'NoneType' object has no attribute 'eglGetError'\")\n")
    result = run_python("from rlrepro.envs import make_env",
                        PYTHONPATH=f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    assert "cannot import name" not in result.stderr
    assert "registering the tasks failed" in result.stderr, result.stderr
    assert "eglGetError" in result.stderr and "MUJOCO_GL=" in result.stderr


def test_a_policy_gif_is_the_same_file_whatever_torchs_random_stream_did_before(tmp_path):
    """MPC-CEM plans with torch's global random stream: its GIFs differed run to run."""
    import gymnasium as gym
    import torch

    from rlrepro.evaluation.videos import record_episode

    class TorchNoisePolicy:  # acts from torch's global random stream, as MPC-CEM's planner
        def initial_state(self):
            return None

        def act(self, obs, state=None, deterministic=True):
            return (torch.rand(len(obs), 1) * 4 - 2).numpy(), None

    paths = []
    for stream in (1, 2):
        torch.manual_seed(stream)
        paths.append(tmp_path / f"{stream}.gif")
        env = gym.wrappers.TimeLimit(gym.make("Pendulum-v1"), 8)
        record_episode(TorchNoisePolicy(), env, paths[-1], seed=3, every=1)
        after = torch.rand(1)
        torch.manual_seed(stream)
        assert torch.equal(after, torch.rand(1))  # the caller's stream is left as it was
    assert paths[0].read_bytes() == paths[1].read_bytes()
