"""rlrepro: reproductions of deep-RL papers as DVC + papermill pipelines."""
import os

from rlrepro import rendering

# MuJoCo picks its OpenGL backend when first imported: set it before any module imports MuJoCo.
os.environ["MUJOCO_GL"] = rendering.choose_backend()
