"""dm_control tasks seen through pixels, with procedural visual distractors: the tasks of the
latent-dynamics experiment (PlaNet, Dreamer and the thesis' contrastive world models).

An observation is the image of one camera, ``(3, size, size)``, rendered off-screen (by the
backend ``rlrepro.rendering`` picks) with shadows and reflections off; an action is repeated
``action_repeat`` times and the rewards summed (PlaNet: 4 for the cheetah, 2 for the walker, 8
for the cartpole); an episode is 1000 simulator steps, so 1000 / action_repeat agent steps. The
task's own observation vector (positions and velocities, what SAC from state sees) rides along
as ``info["state"]``: the target of the linear probe from a latent state.

**Distractors** (``distract=True``) need no downloaded assets: at every reset, from the episode's
seed, the sky and the floor are recoloured (their textures' shades mapped onto a random pair of
colours), every other material of the body gets a random colour, the light a random colour and
strength, and, with ``camera_jitter`` > 0, the camera moves by a random offset (metres, per axis
standard deviation). Only the picture changes: the physics, rewards and states are exactly those
of the clean task with the same seed.

Pictures come as float32 arrays of whole numbers 0-255, as every task of ``make_env`` observes
float32; a replay buffer stores them as uint8 without loss.
"""
from __future__ import annotations

import atexit
import functools
import weakref

import gymnasium as gym
import mujoco
import numpy as np

from rlrepro import rendering
from rlrepro.envs.registry import register

# The tasks of the experiment and PlaNet's action repeat for each.
TASKS = {("cheetah", "run"): 4, ("walker", "walk"): 2, ("cartpole", "swingup"): 8}
SIMULATOR_STEPS = 1000  # per episode, as dm_control's suite
_OPEN = weakref.WeakSet()  # tasks whose renderers are closed at exit, before EGL shuts down
atexit.register(lambda: [env.close() for env in list(_OPEN)])


class PixelTask(gym.Env):
    """A dm_control suite task observed as images (see the module docstring)."""

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, domain: str, task: str, image_size: int = 64, action_repeat: int = 4,
                 camera: int = 0, distract: bool = False, camera_jitter: float = 0.0,
                 render_mode: str | None = None, width: int = 256, height: int = 256):
        from dm_control import suite

        if image_size < 8:
            raise ValueError(f"image_size: expected at least 8 pixels, got {image_size}")
        if action_repeat < 1 or SIMULATOR_STEPS % action_repeat:
            raise ValueError(f"action_repeat: expected a divisor of {SIMULATOR_STEPS}, got "
                             f"{action_repeat}")
        if camera_jitter < 0:
            raise ValueError(f"camera_jitter: expected >= 0 metres, got {camera_jitter}")
        self._env = suite.load(domain, task, task_kwargs={"random": 0})
        self.physics = self._env.physics
        self.image_size, self.action_repeat, self.camera = image_size, action_repeat, camera
        self.distract, self.camera_jitter = distract, camera_jitter
        self.render_mode, self.width, self.height = render_mode, width, height
        spec = self._env.action_spec()
        self.action_space = gym.spaces.Box(spec.minimum.astype(np.float32),
                                           spec.maximum.astype(np.float32))
        self.observation_space = gym.spaces.Box(0, 255, (3, image_size, image_size), np.float32)
        model = self.physics.model.ptr
        self._nominal = {name: getattr(model, name).copy()
                         for name in ("mat_rgba", "light_diffuse", "light_ambient", "cam_pos",
                                      "tex_data")}
        self._shades = [self._texels(t).mean(1, keepdims=True, dtype=np.float32) / 255.0
                        for t in range(model.ntex)]  # each texel's grey level, 0 to 1
        self._renderers = {}
        _OPEN.add(self)

    # --- pictures -----------------------------------------------------------------------------

    def _renderer(self, height: int, width: int) -> mujoco.Renderer:
        """One renderer per image size, made on first use."""
        if (height, width) not in self._renderers:
            rendering.require()
            model = self.physics.model.ptr
            model.vis.global_.offwidth = max(model.vis.global_.offwidth, width)
            model.vis.global_.offheight = max(model.vis.global_.offheight, height)
            self._renderers[height, width] = mujoco.Renderer(model, height, width)
        return self._renderers[height, width]

    def _picture(self, height: int, width: int) -> np.ndarray:
        renderer = self._renderer(height, width)
        renderer.update_scene(self.physics.data.ptr, camera=self.camera)
        renderer.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = 0
        renderer.scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = 0
        return renderer.render()

    def _observe(self) -> np.ndarray:
        picture = self._picture(self.image_size, self.image_size)
        return picture.transpose(2, 0, 1).astype(np.float32)

    def render(self):
        return self._picture(self.height, self.width)

    def _texels(self, t: int) -> np.ndarray:
        """Texture ``t``'s RGB texels, ``(pixels, 3)``, a view into the model."""
        model = self.physics.model.ptr
        start = model.tex_adr[t]
        size = model.tex_width[t] * model.tex_height[t] * model.tex_nchannel[t]
        return model.tex_data[start:start + size].reshape(-1, model.tex_nchannel[t])[:, :3]

    def _restyle(self, rng: np.random.Generator):
        """New colours, light and camera position for an episode (distractors), or the nominal
        ones; the textures are uploaded again to every renderer."""
        model = self.physics.model.ptr
        for name, value in self._nominal.items():
            getattr(model, name)[:] = value
        if self.distract:
            for t, shade in enumerate(self._shades):  # the sky's and floor's shades recoloured
                dark, light = rng.uniform(0, 255, (2, 3))
                self._texels(t)[:] = (dark + shade * (light - dark)).astype(np.uint8)
            textured = (model.mat_texid.reshape(model.nmat, -1) >= 0).any(1)
            colours = rng.uniform(0, 1, (model.nmat, 3))
            model.mat_rgba[~textured, :3] = colours[~textured]
            model.light_diffuse[:] = rng.uniform(0.2, 1.0, (model.nlight, 3))
            model.light_ambient[:] = rng.uniform(0.0, 0.3, (model.nlight, 3))
        if self.camera_jitter > 0:
            model.cam_pos[self.camera] += rng.normal(0, self.camera_jitter, 3)
        for renderer in self._renderers.values():  # the GPU's copies of the textures
            renderer._gl_context.make_current()  # mujoco.Renderer keeps them private
            for t in range(model.ntex):
                mujoco.mjr_uploadTexture(model, renderer._mjr_context, t)

    # --- gymnasium interface -----------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options=None):
        super().reset(seed=seed)
        episode_seed = int(self.np_random.integers(2**31))
        self._env.task.random.seed(episode_seed)
        time_step = self._env.reset()
        if self.distract or self.camera_jitter > 0:
            self._restyle(np.random.default_rng([episode_seed, 1]))
        return self._observe(), {"state": _state(time_step)}

    def step(self, action):
        reward, time_step = 0.0, None
        for _ in range(self.action_repeat):
            time_step = self._env.step(action)
            reward += time_step.reward or 0.0
            if time_step.last():
                break
        return self._observe(), reward, False, time_step.last(), {"state": _state(time_step)}

    def close(self):
        for renderer in self._renderers.values():
            renderer.close()
        self._renderers = {}


def _state(time_step) -> np.ndarray:
    """The task's observation vector (what SAC from state sees), flattened."""
    return np.concatenate([np.asarray(v, dtype=np.float32).ravel()
                           for v in time_step.observation.values()])


for (_domain, _task), _repeat in TASKS.items():
    register(f"{_domain}_{_task}_pixels",
             functools.partial(PixelTask, _domain, _task, action_repeat=_repeat),
             f"dm_control {_domain}-{_task} from 64x64 pixels, action repeat {_repeat}")
    register(f"{_domain}_{_task}_distracted",
             functools.partial(PixelTask, _domain, _task, action_repeat=_repeat, distract=True),
             f"dm_control {_domain}-{_task} from pixels with random colours of sky, floor, "
             f"body and light each episode (option camera_jitter: camera offsets)")
