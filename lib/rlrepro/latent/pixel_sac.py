"""SAC from pixels: the model-free baseline of the latent-dynamics experiment.

The package's SAC (``agents.algorithms``, unchanged) acts and learns on the features of a
convolutional encoder of the picture. As in SAC-AE (Yarats et al. 2021, without its decoder)
and DrQ (Kostrikov, Yarats & Fergus 2021):

- the encoder ends in a linear layer, LayerNorm and tanh (``feature_dim`` features, SAC-AE: 50);
- it learns from the critic's loss alone, with its own Adam (SAC-AE: step size 1e-3); the
  actor's loss does not train it;
- the TD target reads s' through a target encoder, a slower average of the encoder (SAC-AE's
  tau 0.05: ``encoder_polyak`` 0.95);
- s and s' are each seen through a random shift of up to ``shift`` pixels, the border
  replicated (DrQ's augmentation, one view of each picture: DrQ's K = M = 1, where its main
  results average over two); acting sees the picture itself.

What differs: the convolutions are the world model's (``models.rssm.ConvEncoder``: 4x4 kernels
of stride 2 down to 4x4 pixels, so the agents of the experiment share one architecture) rather
than SAC-AE's 3x3 ones; an observation is one picture, not a stack of three; the actor reads the
critic's features (its linear layer and LayerNorm included) where SAC-AE and DrQ give it a
linear layer and LayerNorm of its own, trained by its loss on the detached convolutions; the
next action of the TD target is also drawn on the target encoder's features of s' (theirs: the
encoder's); SAC's own settings (learning rate, temperature, batch, critic polyak, an update of
every network at every step) are the package's ``AgentConfig``.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from rlrepro.agents.algorithms import AgentConfig, make_agent
from rlrepro.agents.optim import FusedAdam
from rlrepro.latent.replay import SequenceReplay
from rlrepro.models.rssm import ConvEncoder, as_input, random_shift
from rlrepro.params import param


@dataclass(frozen=True)
class PixelSACConfig:
    """The encoder in front of SAC and how it learns (SAC's own settings: ``AgentConfig``)."""

    depth: int = param("channels of the first conv layer, doubling each layer (PlaNet: 32)",
                       default=32, min=1)
    feature_dim: int = param("features SAC sees: the conv embedding through a linear layer, "
                             "LayerNorm and tanh (SAC-AE: 50)", default=50, min=1)
    shift: int = param("s and s' of an update are shifted by up to this many pixels (DrQ's "
                       "random shift: 4; 0: the pictures themselves)", default=4, min=0)
    encoder_lr: float = param("Adam step size of the encoder (SAC-AE: 1e-3)", default=1e-3,
                              min=1e-8, max=1.0)
    encoder_polyak: float = param("target encoder <- polyak * target + (1 - polyak) * encoder, "
                                  "every update (SAC-AE's tau 0.05: 0.95)", default=0.95,
                                  min=0.0, max=1.0)


class PixelEncoder(nn.Module):
    """Picture ``(N, 3, S, S)`` in [-0.5, 0.5] -> features ``(N, feature_dim)`` in (-1, 1):
    convolutions, then SAC-AE's linear layer, LayerNorm and tanh, which keep the features
    bounded however the critic pulls on them."""

    def __init__(self, image_size: int, depth: int, feature_dim: int):
        super().__init__()
        self.conv = ConvEncoder(image_size, depth)
        self.head = nn.Sequential(nn.Linear(self.conv.embed_dim, feature_dim),
                                  nn.LayerNorm(feature_dim), nn.Tanh())

    def forward(self, pictures):
        return self.head(self.conv(pictures))


class PixelSAC:
    """SAC on the features of a learned picture encoder (see the module docstring), with the
    agents' acting interface (``evaluation.rollouts``): one member per picture of ``act``.

    ``train`` reuses ``Agent.update`` as it is. That update takes the features as its
    observations and runs two backward passes through them: the critic's loss first, then the
    actor's (the memoryless actor reads its observations undetached). So the update gets a leaf
    copy of the features, a hook keeps the gradient of the first pass that reaches it, the
    critic's, and that gradient alone is then backpropagated into the encoder. The features of
    s' come from the target encoder, without gradient, as the TD target needs none.
    """

    def __init__(self, image_size: int, act_dim: int, agent: AgentConfig,
                 config: PixelSACConfig, seed: int = 0):
        if agent.algorithm != "sac":
            raise ValueError(f"PixelSAC: expected agent.algorithm 'sac', got {agent.algorithm!r}")
        if image_size < 8 or image_size & (image_size - 1):
            raise ValueError(f"image_size: expected a power of two >= 8, got {image_size}")
        self.config, self.act_dim = config, act_dim
        self.sac = make_agent(config.feature_dim, act_dim, agent, seed)
        self.device = self.sac.device
        torch.manual_seed(seed)
        self.encoder = PixelEncoder(image_size, config.depth, config.feature_dim).to(self.device)
        self.encoder_target = copy.deepcopy(self.encoder).requires_grad_(False)
        self.encoder_optimizer = FusedAdam(self.encoder.parameters(), lr=config.encoder_lr)
        self.generator = torch.Generator(self.device).manual_seed(seed)  # the random shifts

    # --- acting -------------------------------------------------------------------------------
    def initial_state(self):
        return None

    @torch.no_grad()
    def act(self, obs, state=None, deterministic=False):
        """Actions ``(n, act_dim)`` in [-1, 1] for pictures ``(n, 3, S, S)`` (0-255)."""
        pictures = torch.as_tensor(np.asarray(obs), dtype=torch.float32, device=self.device)
        features = self.encoder(as_input(pictures))
        return self.sac.act_on_states(features[None], deterministic)[0], None

    # --- learning -----------------------------------------------------------------------------
    def train(self, replay: SequenceReplay, updates: int, batch: int) -> list[dict]:
        """``updates`` updates, each on ``batch`` transitions from ``replay``; returns each
        update's losses and statistics (floats)."""
        return [self.update(replay.sample(batch, 2, self.device)) for _ in range(updates)]

    def update(self, data: dict) -> dict:
        """One update on transitions ``SequenceReplay.sample(batch, 2)``: pictures 0 and 1 are
        s and s', ``actions[1]`` and ``rewards[1]`` the transition's. The pixel tasks only time
        out, so no transition is terminal."""
        pictures = as_input(data["pictures"])  # (2, B, 3, S, S)
        views = random_shift(pictures.flatten(0, 1), self.config.shift, self.generator)
        now, later = views.unflatten(0, pictures.shape[:2])
        with torch.no_grad():
            later = self.encoder_target(later)
        features = torch.stack([self.encoder(now), later], 1)[None]  # (1, B, 2, F)
        leaf = features.detach().requires_grad_()
        gradients = []  # of the critic's loss, then of the actor's
        hook = leaf.register_hook(gradients.append)
        rewards = data["rewards"][1][None, :, None]
        info = self.sac.update({"obs": leaf, "actions": data["actions"][1][None, :, None],
                                "rewards": rewards, "terminated": torch.zeros_like(rewards),
                                "mask": None})
        hook.remove()
        self.encoder_optimizer.zero_grad()
        features.backward(gradients[0])
        self.encoder_optimizer.step()
        with torch.no_grad():
            torch._foreach_lerp_(list(self.encoder_target.parameters()),
                                 list(self.encoder.parameters()),
                                 1.0 - self.config.encoder_polyak)
        return {name: float(value[0]) for name, value in info.items()}

    # --- checkpoints --------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Everything acting and learning depend on, as tensors and plain values (loadable with
        ``torch.load(..., weights_only=True)``)."""
        return {"encoder": self.encoder.state_dict(),
                "encoder_target": self.encoder_target.state_dict(),
                "encoder_optimizer": self.encoder_optimizer.state_dict(),
                "sac": self.sac.state_dict(), "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict):
        self.encoder.load_state_dict(state["encoder"])
        self.encoder_target.load_state_dict(state["encoder_target"])
        self.encoder_optimizer.load_state_dict(state["encoder_optimizer"])
        self.sac.load_state_dict(state["sac"])
        self.generator.set_state(state["generator"])
