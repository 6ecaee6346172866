"""MuJoCo bodies with scaled limbs: the test bodies of the robustness experiment.

``make_body("hopper", {"thigh_length": 0.5, "foot_width": 1.5})`` is Hopper-v5 whose thigh is
half as long and whose foot is half again as thick. Each limb is a capsule; scaling its length
keeps the point of the capsule's axis nearest the limb's joint in place (the hip for a thigh,
the ankle for a foot, the middle of the torso), stretches the capsule about it, and moves
everything attached further along that axis (child bodies) with it. Width scales the radius.
Masses and inertias follow the geometry, as MuJoCo computes them from it (``inertiafromgeom``;
the cheetah's model also rescales them to a total of 14 kg). The whole body is then raised or
lowered so that its lowest point starts as high above the floor as the nominal body's, and the
range of torso heights counted as healthy scales with the standing height (a short-legged
Hopper is not "fallen" at 0.7).

The model is edited with ``mujoco.MjSpec`` and compiled in memory: with every factor 1.0 the
model, and so every step, is exactly the nominal one.

Packer et al. 2019's perturbations are factors too: ``torso_density`` (the density of the
torso's geoms, as their ``worldbody/body/geom`` edit), ``friction`` (the sliding friction of
every geom, the floor's too: MuJoCo takes the larger of a pair's, so every contact's scales) and
``power`` (every motor's gear). ``PACKER_RANGES`` holds their ranges and ``packer_body`` draws a
test body as they do.

Registered tasks (``make_env``): ``<base>_body`` for each base below, whose ``scales`` option
is the dict of factors (``make_env("hopper_body", scales={"leg_length": 1.5})``), and
``hopper_short_legs`` / ``hopper_long_legs`` (thigh and leg lengths x0.5 / x1.5).
"""
from __future__ import annotations

import functools
import inspect
import os
from dataclasses import dataclass

import gymnasium as gym
import mujoco
import numpy as np
from gymnasium.envs.mujoco.half_cheetah_v5 import HalfCheetahEnv
from gymnasium.envs.mujoco.hopper_v5 import HopperEnv
from gymnasium.envs.mujoco.walker2d_v5 import Walker2dEnv

from rlrepro.envs.registry import register


@dataclass(frozen=True)
class Base:
    """A gymnasium body whose limbs can be scaled."""

    env_class: type
    xml: str  # the gymnasium asset it is built from
    limbs: tuple[str, ...]  # bodies whose capsule is the limb of that name
    healthy_z: str | None  # the constructor argument bounding the torso height, if any


BASES = {
    "hopper": Base(HopperEnv, "hopper.xml", ("torso", "thigh", "leg", "foot"),
                   "healthy_z_range"),
    "walker2d": Base(Walker2dEnv, "walker2d_v5.xml",
                     ("torso", "thigh", "leg", "foot", "thigh_left", "leg_left", "foot_left"),
                     "healthy_z_range"),
    "half_cheetah": Base(HalfCheetahEnv, "half_cheetah.xml",
                         ("torso", "bthigh", "bshin", "bfoot", "fthigh", "fshin", "ffoot"),
                         None),
}
DIMENSIONS = ("length", "width")
PHYSICS = ("torso_density", "friction", "power")  # Packer et al.'s parameters, as factors

# Packer et al.'s parameters (sunblaze-ucb/rl-generalization, sunblaze_envs/README.md) on
# Roboschool: {parameter: (default D, moderate range R, extreme range E)} in their units; a
# test body of range E draws each parameter from E outside R. As factors here: value / D.
PACKER_RANGES = {
    "hopper": {"power": (0.75, (0.6, 0.9), (0.4, 1.1)),
               "torso_density": (1000.0, (750.0, 1250.0), (500.0, 1500.0)),
               "friction": (0.8, (0.5, 1.1), (0.2, 1.4))},
    "half_cheetah": {"power": (0.9, (0.7, 1.1), (0.5, 1.3)),
                     "torso_density": (1000.0, (750.0, 1250.0), (500.0, 1500.0)),
                     "friction": (0.8, (0.5, 1.1), (0.2, 1.4))},
}


def scale_keys(base: str) -> list[str]:
    """The factors a base accepts: ``<limb>_length``, ``<limb>_width`` and ``PHYSICS``."""
    return [f"{limb}_{d}" for limb in BASES[base].limbs for d in DIMENSIONS] + list(PHYSICS)


def packer_body(base: str, extreme: bool, rng: np.random.Generator) -> dict:
    """A test body of Packer et al.'s moderate (R) or extreme (E) range: each parameter drawn
    uniformly from R, or from E outside R (their ``uniform_exclude_inner``), as a factor of
    its default."""
    if base not in PACKER_RANGES:
        raise ValueError(f"body: Packer et al.'s ranges exist for {list(PACKER_RANGES)}, not "
                         f"{base!r}")
    body = {}
    for key, (default, (low, high), (out_low, out_high)) in PACKER_RANGES[base].items():
        value = rng.uniform(*((out_low, out_high) if extreme else (low, high)))
        while extreme and low <= value < high:
            value = rng.uniform(out_low, out_high)
        body[key] = value / default
    return body


def check_scales(base: str, scales: dict) -> dict:
    """``scales`` as floats, or a ValueError naming every unknown limb or factor that is not a
    positive number."""
    if base not in BASES:
        raise ValueError(f"body: expected one of {list(BASES)}, got {base!r}")
    known = scale_keys(base)
    errors = [f"{key!r}: unknown limb factor; expected one of {known}" for key in scales
              if key not in known]
    errors += [f"{key!r}: expected a factor > 0, got {value!r}" for key, value in scales.items()
               if key in known and not (isinstance(value, (int, float))
                                        and not isinstance(value, bool)
                                        and np.isfinite(value) and value > 0)]
    if errors:
        raise ValueError(f"scales of {base}: " + "; ".join(errors))
    return {key: float(value) for key, value in scales.items()}


def _compile(spec: mujoco.MjSpec) -> mujoco.MjModel:
    """``spec`` compiled. The cheetah's model rescales its masses to a total of 14 kg with the
    compiler's ``settotalmass``, which MuJoCo deprecates with a warning printed (and logged to
    MUJOCO_LOG.TXT) at every compile; the same scaling is applied the way the warning advises,
    on the compiled model (bit for bit the same model: ``tests/test_bodies.py``)."""
    total = spec.compiler.settotalmass
    spec.compiler.settotalmass = -1
    try:
        model = spec.compile()
    finally:
        spec.compiler.settotalmass = total
    if total > 0:
        mujoco.mj_setTotalmass(model, total)
        mujoco.mj_setConst(model, mujoco.MjData(model))
    return model


def _axis(quat) -> np.ndarray:
    """The z axis of a frame with orientation ``quat`` (a capsule's axis)."""
    matrix = np.empty(9)
    mujoco.mju_quat2Mat(matrix, np.asarray(quat, float))
    return matrix.reshape(3, 3)[:, 2]


def _lowest_point(model: mujoco.MjModel) -> float:
    """The lowest height any capsule or sphere of the body reaches at the initial pose."""
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    low = np.inf
    for g in range(model.ngeom):
        if model.geom_bodyid[g] == 0:  # the floor
            continue
        radius, half = model.geom_size[g, :2]
        reach = half * abs(data.geom_xmat[g].reshape(3, 3)[2, 2]) if (
            model.geom_type[g] == mujoco.mjtGeom.mjGEOM_CAPSULE) else 0.0
        low = min(low, data.geom_xpos[g, 2] - reach - radius)
    return float(low)


def scaled_spec(base: str, scales: dict) -> tuple[mujoco.MjSpec, float]:
    """The edited model of ``base`` and its standing height relative to the nominal one."""
    scales = check_scales(base, scales)
    path = os.path.join(os.path.dirname(gym.__file__), "envs", "mujoco", "assets",
                        BASES[base].xml)
    spec = mujoco.MjSpec.from_file(path)
    if all(value == 1.0 for value in scales.values()):
        return spec, 1.0
    nominal = _compile(spec)
    for limb in BASES[base].limbs:
        length = scales.get(f"{limb}_length", 1.0)
        width = scales.get(f"{limb}_width", 1.0)
        if length == 1.0 and width == 1.0:
            continue
        body = spec.body(limb)
        geom = next(g for g in body.geoms if g.type == mujoco.mjtGeom.mjGEOM_CAPSULE)
        compiled = nominal.geom(geom.name)
        centre, axis = compiled.pos.copy(), _axis(compiled.quat)
        hinge = next(j for j in body.joints if j.type == mujoco.mjtJoint.mjJNT_HINGE)
        pivot = centre + np.dot(np.asarray(hinge.pos) - centre, axis) * axis
        geom.fromto = [np.nan] * 6  # placed by pos, quat and size from here on
        geom.pos = pivot + length * (centre - pivot)
        geom.quat = compiled.quat.copy()
        geom.size = [width * compiled.size[0], length * compiled.size[1], 0.0]
        geom.alt.type = mujoco.mjtOrientation.mjORIENTATION_QUAT  # not an axis-angle any more
        for other in body.geoms:  # e.g. the cheetah's head on its torso
            if other.name != geom.name:
                other.pos = np.asarray(other.pos) + (length - 1.0) * np.dot(
                    np.asarray(other.pos) - pivot, axis) * axis
        for child in body.bodies:  # moved along the limb as far as it is stretched
            attached = np.asarray(child.pos, float)
            for joint in child.joints[:1]:
                matrix = np.empty(9)
                mujoco.mju_quat2Mat(matrix, nominal.body(child.name).quat)
                attached = attached + matrix.reshape(3, 3) @ np.asarray(joint.pos, float)
            child.pos = np.asarray(child.pos) + (length - 1.0) * np.dot(attached - pivot,
                                                                         axis) * axis
    root = spec.body(BASES[base].limbs[0])
    for geom in root.geoms:
        geom.density = geom.density * scales.get("torso_density", 1.0)
    for geom in spec.geoms:
        geom.friction = [geom.friction[0] * scales.get("friction", 1.0), *geom.friction[1:]]
    for actuator in spec.actuators:
        actuator.gear = [actuator.gear[0] * scales.get("power", 1.0), *actuator.gear[1:]]
    nominal_low, nominal_height = _lowest_point(nominal), nominal.body(BASES[base].limbs[0]).pos[2]
    raise_by = nominal_low - _lowest_point(_compile(spec))
    root.pos = np.asarray(root.pos) + [0.0, 0.0, raise_by]
    for joint in root.joints:  # the height joint's initial value follows the body
        if joint.type == mujoco.mjtJoint.mjJNT_SLIDE and abs(joint.axis[2]) == 1.0:
            joint.ref = joint.ref + raise_by
    return spec, (nominal_height + raise_by) / nominal_height


@functools.cache
def body_class(base: str) -> type:
    """``base``'s gymnasium class, simulating a given ``MjSpec`` (by default the nominal body's)
    instead of loading its XML file."""

    class ScaledBody(BASES[base].env_class):
        def __init__(self, spec: mujoco.MjSpec | None = None, **kwargs):
            self._spec = spec if spec is not None else scaled_spec(base, {})[0]
            super().__init__(**kwargs)

        def _initialize_simulation(self):
            model = _compile(self._spec)
            model.vis.global_.offwidth = max(model.vis.global_.offwidth, self.width)
            model.vis.global_.offheight = max(model.vis.global_.offheight, self.height)
            return model, mujoco.MjData(model)

    ScaledBody.__name__ = f"Scaled{BASES[base].env_class.__name__}"
    return ScaledBody


def make_body(base: str, scales: dict | None = None, max_episode_steps: int = 1000,
              **options) -> gym.Env:
    """``base`` with its limbs scaled by ``scales`` ({"<limb>_length" | "<limb>_width":
    factor}; missing = 1.0); ``options`` go to the gymnasium constructor."""
    spec, height = scaled_spec(base, scales or {})
    healthy = BASES[base].healthy_z
    if healthy is not None and healthy not in options:
        low, high = inspect.signature(BASES[base].env_class).parameters[healthy].default
        options[healthy] = (low * height, high * height)
    env = body_class(base)(spec, **options)
    return gym.wrappers.TimeLimit(env, max_episode_steps)


for _base in BASES:
    register(f"{_base}_body", functools.partial(make_body, _base),
             f"{_base} of gymnasium v5 with limbs scaled by the option scales={{factor: value}}")

# Bodies with names, for tasks that take an environment name (training, fine-tuning, GIFs).
NAMED_BODIES = {
    "hopper_short_legs": ("hopper", {"thigh_length": 0.5, "leg_length": 0.5}),
    "hopper_long_legs": ("hopper", {"thigh_length": 1.5, "leg_length": 1.5}),
}
for _name, (_base, _scales) in NAMED_BODIES.items():
    register(_name, functools.partial(make_body, _base, _scales),
             f"{_base} of gymnasium v5 with limbs scaled by {_scales}")
