"""rlrepro: reproductions of deep-RL papers as DVC + papermill pipelines."""
import os

# MuJoCo renders GIFs off-screen on the CPU (Mesa's EGL) unless told otherwise; it reads this
# when first imported, so it is set before any module of the package imports it.
os.environ.setdefault("MUJOCO_GL", "egl")
