"""rlrepro: reproductions of deep-RL papers as DVC + papermill pipelines."""
import os

from rlrepro import lifetime, rendering

# MuJoCo picks its OpenGL backend when first imported: set it before any module imports MuJoCo.
os.environ["MUJOCO_GL"] = rendering.choose_backend()
if lifetime.in_stage():  # a pipeline stage's kernel or worker: it ends with the stage
    lifetime.die_with_parent()
