"""Bodies with scaled limbs (rlrepro.envs.bodies): the geometry they claim, the nominal body at
factor 1, and clear errors."""
import os
import subprocess
import sys

import gymnasium as gym
import mujoco
import numpy as np
import pytest

from rlrepro.envs import bodies, make_env


def _limb_geom(model, limb):
    return next(g for g in range(model.ngeom) if model.geom_bodyid[g] == model.body(limb).id)


@pytest.mark.parametrize("base", list(bodies.BASES))
def test_a_scaled_limb_has_the_scaled_size_and_carries_what_hangs_from_it(base):
    limb = bodies.BASES[base].limbs[1]  # a thigh
    nominal = bodies.make_body(base).unwrapped.model
    model = bodies.make_body(base, {f"{limb}_length": 1.5, f"{limb}_width": 0.5}).unwrapped.model
    g = _limb_geom(model, limb)
    assert model.geom_size[g, 1] == pytest.approx(1.5 * nominal.geom_size[g, 1])
    assert model.geom_size[g, 0] == pytest.approx(0.5 * nominal.geom_size[g, 0])
    child = next(b for b in range(model.nbody) if model.body_parentid[b] == model.body(limb).id)
    moved = np.linalg.norm(model.body_pos[child]) - np.linalg.norm(nominal.body_pos[child])
    assert moved > 0.1 * nominal.geom_size[g, 1], "the next limb hangs from the longer one"



def _capsule_volume(radius, half_length):
    return np.pi * radius ** 2 * 2 * half_length + 4 / 3 * np.pi * radius ** 3


@pytest.mark.parametrize("base", list(bodies.BASES))
@pytest.mark.parametrize("factor", [0.5, 1.5])
def test_a_longer_limb_weighs_its_capsule_s_volume_and_turns_harder(base, factor):
    """Against the torso, the limb's mass follows its capsule's volume at the same density
    (hopper thigh x1.5: x1.435; the cheetah's compiler then rescales every body to its total of
    14 kg), and its transverse radius of gyration grows with its length."""
    limb = bodies.BASES[base].limbs[1]
    nominal = bodies.make_body(base).unwrapped.model
    model = bodies.make_body(base, {f"{limb}_length": factor}).unwrapped.model
    g, b, torso = _limb_geom(nominal, limb), nominal.body(limb).id, nominal.body("torso").id
    radius, half = nominal.geom_size[g, :2]
    ratio = _capsule_volume(radius, factor * half) / _capsule_volume(radius, half)
    relative = lambda m: m.body_mass[b] / m.body_mass[torso]  # noqa: E731
    assert relative(model) / relative(nominal) == pytest.approx(ratio, rel=1e-6)
    gyration = lambda m: m.body_inertia[b].max() / m.body_mass[b]  # noqa: E731
    assert (gyration(model) > gyration(nominal)) == (factor > 1)

def test_leg_length_sets_the_starting_height_and_the_healthy_range():
    nominal = make_env("hopper_body")
    short, long_ = make_env("hopper_short_legs"), make_env("hopper_long_legs")
    heights = [e.unwrapped.init_qpos[1] for e in (short, nominal, long_)]
    assert heights[0] < heights[1] == 1.25 < heights[2]
    # Thigh and leg (0.45 + 0.5 long) shrink by half: the torso starts ~0.475 lower.
    assert heights[0] == pytest.approx(1.25 - 0.475, abs=0.01)
    ranges = [e.unwrapped._healthy_z_range[0] for e in (short, nominal, long_)]
    assert ranges == pytest.approx([0.7 * h / 1.25 for h in heights])
    short.reset(seed=0)
    for _ in range(20):  # standing still is healthy on short legs too
        assert not short.step(np.zeros(3, np.float32))[2]


@pytest.mark.parametrize("scales", [{}, {"thigh_length": 1.0, "foot_width": 1.0}])
def test_factor_one_is_the_nominal_hopper_step_for_step(scales):
    ours, nominal = make_env("hopper_body", scales=scales), make_env("Hopper-v5")
    a, b = ours.reset(seed=3)[0], nominal.reset(seed=3)[0]
    rng = np.random.default_rng(0)
    for _ in range(200):
        assert np.array_equal(a, b)
        action = rng.uniform(-1, 1, 3).astype(np.float32)
        a, b = ours.step(action)[0], nominal.step(action)[0]


def test_packers_parameters_scale_the_torso_mass_every_contact_s_friction_and_the_motors():
    nominal = bodies._compile(bodies.scaled_spec("hopper", {})[0])
    model = bodies._compile(bodies.scaled_spec("hopper", {"torso_density": 1.5, "friction": 0.5,
                                                          "power": 1.2})[0])
    torso = model.body("torso").id
    others = [b for b in range(1, model.nbody) if b != torso]
    assert model.body_mass[torso] == pytest.approx(1.5 * nominal.body_mass[torso])
    np.testing.assert_array_equal(model.body_mass[others], nominal.body_mass[others])
    np.testing.assert_allclose(model.geom_friction[:, 0], 0.5 * nominal.geom_friction[:, 0])
    np.testing.assert_allclose(model.actuator_gear[:, 0], 1.2 * nominal.actuator_gear[:, 0])
    np.testing.assert_array_equal(model.geom_size, nominal.geom_size)  # the geometry stays


def test_packer_bodies_fall_in_their_range_and_extreme_ones_outside_the_moderate_range():
    rng = np.random.default_rng(0)
    ranges = bodies.PACKER_RANGES["hopper"]
    moderate = [bodies.packer_body("hopper", False, rng) for _ in range(300)]
    extreme = [bodies.packer_body("hopper", True, rng) for _ in range(300)]
    for key, (default, (low, high), (out_low, out_high)) in ranges.items():
        inside = np.array([b[key] * default for b in moderate])
        outside = np.array([b[key] * default for b in extreme])
        assert np.all((low <= inside) & (inside < high))
        assert np.all((out_low <= outside) & (outside < out_high))
        assert not np.any((low <= outside) & (outside < high))
        assert np.any(outside < low) and np.any(outside >= high)  # both sides of R
    with pytest.raises(ValueError, match="Packer et al.'s ranges exist for"):
        bodies.packer_body("walker2d", False, rng)


def test_bad_factors_are_named():
    with pytest.raises(ValueError, match=r"'shin_length': unknown limb factor.*'thigh_width': "
                                         r"expected a factor > 0, got 0"):
        bodies.make_body("hopper", {"shin_length": 1.2, "thigh_width": 0})
    with pytest.raises(ValueError, match="'leg_length': expected a factor > 0, got -1"):
        make_env("hopper_body", scales={"leg_length": -1})
    with pytest.raises(ValueError, match="body: expected one of"):
        bodies.make_body("ant")
    assert isinstance(make_env("walker2d_body").action_space, gym.spaces.Box)


def test_the_cheetah_is_compiled_as_from_its_file_without_the_settotalmass_warning(tmp_path):
    """The cheetah's XML rescales its masses with the compiler's deprecated ``settotalmass``;
    applied after compiling instead, the model is the same bit for bit, and nothing is printed
    or logged to MUJOCO_LOG.TXT (once per make before)."""
    path = os.path.join(os.path.dirname(gym.__file__), "envs", "mujoco", "assets",
                        bodies.BASES["half_cheetah"].xml)
    reference = mujoco.MjModel.from_xml_path(path)
    ours = make_env("cheetah_fw").unwrapped.model
    arrays = [name for name in dir(reference)
              if isinstance(getattr(reference, name, None), np.ndarray)]
    assert "body_mass" in arrays and reference.body_mass.sum() == pytest.approx(14.0)
    assert [name for name in arrays
            if not np.array_equal(getattr(ours, name), getattr(reference, name))] == []
    made = subprocess.run(
        [sys.executable, "-c", "from rlrepro.envs import make_env\n"
         "for name in ('cheetah_fw', 'half_cheetah_body'): make_env(name).reset(seed=0)"],
        capture_output=True, text=True, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert "settotalmass" not in made.stdout + made.stderr
    assert not (tmp_path / "MUJOCO_LOG.TXT").exists()
