"""A recurrent state-space world model from pixels (PlaNet's RSSM, Hafner et al. 2019), with
the two representation losses of the latent-dynamics thesis: reconstruction, or contrast.

The latent state is a deterministic part ``h`` (a GRU over the past) and a stochastic part ``z``
(a diagonal Gaussian): the prior ``p(z_t | h_t)`` predicts without the picture, the posterior
``q(z_t | h_t, e_t)`` also sees the embedding ``e_t`` of the picture. Training maximises, as the
thesis (its ``algos/algo_base.py``),

    reward log-likelihood + representation term - mean over (t, b) of max(free_nats, KL(p || q))

over sequences: the KL runs from the prior to the posterior and each sample's is clamped at the
free nats before the mean (PlaNet: KL(q || p)). The log-likelihoods are of unit-variance
Gaussians, ``-0.5`` times the squared errors. The representation term is either the picture's
log-likelihood under a deconvolutional decoder (``reconstruction``) or an InfoNCE
bound (``contrastive``): the latent feature ``[h, z]`` must pick out *its own* picture among
those of every other (time, sequence) of the batch, contrasted across batch samples as CURL
does. What stands for the picture is one of the thesis' three variants (``contrast``): the
encoder's embedding of a randomly shifted view of it (``embedding``; with no shift the thesis'
``obs_embed_contrast``), the same with the latent itself computed from another shifted view
(``augmented_embedding``, the thesis' default ``aug_obs_embed_contrast``), or the latent of
another shifted view, without gradient (``augmented_latent``, its ``augment_contrast``). The
thesis offered dot, cosine and bilinear similarities, but its dot and cosine variants contrasted
feature dimensions instead of samples; here every similarity contrasts samples.

Sizes are parameters (``RSSMConfig``); PlaNet's are the defaults for ``paper`` (stochastic 30,
deterministic 200, hidden 200, conv depth 32, 64x64 pictures, free nats 3).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from rlrepro.models.mlp import mlp
from rlrepro.params import param

REPRESENTATIONS = ("reconstruction", "contrastive")
SIMILARITIES = ("bilinear", "cosine", "dot")
CONTRASTS = ("embedding", "augmented_embedding", "augmented_latent")


@dataclass(frozen=True)
class RSSMConfig:
    """Sizes and losses of the world model."""

    image_size: int = param("picture height and width, a power of two >= 8 (PlaNet: 64)",
                            default=64, min=8)
    action_dim: int = param("action dimensions", default=1, min=1)
    stoch: int = param("stochastic state dimensions (PlaNet: 30)", default=30, min=1)
    deter: int = param("deterministic state dimensions (PlaNet: 200)", default=200, min=1)
    hidden: int = param("hidden units of the transition, posterior and heads (PlaNet: 200)",
                        default=200, min=1)
    depth: int = param("channels of the first conv layer, doubling each layer (PlaNet: 32)",
                       default=32, min=1)
    min_std: float = param("lower bound of the stochastic state's standard deviation",
                           default=0.1, min=0.0)
    free_nats: float = param("KL below this many nats is not penalised (PlaNet: 3)",
                             default=3.0, min=0.0)
    representation: str = param("reconstruction: decode the picture; contrastive: InfoNCE "
                                "between the latent and the picture's embedding",
                                default="reconstruction", choices=REPRESENTATIONS)
    similarity: str = param("contrastive: bilinear (CURL), cosine or dot, across batch samples",
                            default="bilinear", choices=SIMILARITIES)
    contrast: str = param("contrastive: the latent of the picture vs the embedding of a shifted "
                          "view (embedding); the latent of one shifted view vs the embedding "
                          "(augmented_embedding, the thesis' default) or the latent "
                          "(augmented_latent) of another", default="embedding",
                          choices=CONTRASTS)
    temperature: float = param("contrastive: cosine similarities are divided by this",
                               default=0.1, min=1e-6)
    shift: int = param("contrastive: the picture is shifted by up to this many pixels (random "
                       "shift augmentation; 0: the picture itself)", default=4, min=0)
    color_jitter: bool = param("contrastive: after the shift, kornia's ColorJitter(0.2, 0.3, "
                               "0.2, 0.3) (the thesis' 'crop jitter'; color_jitter)",
                               default=True)

    def __post_init__(self):
        size = self.image_size
        if size < 8 or size & (size - 1):
            raise ValueError(f"image_size: expected a power of two >= 8, got {size}")
        if self.representation not in REPRESENTATIONS:
            raise ValueError(f"representation: expected one of {list(REPRESENTATIONS)}, got "
                             f"{self.representation!r}")
        if self.similarity not in SIMILARITIES:
            raise ValueError(f"similarity: expected one of {list(SIMILARITIES)}, got "
                             f"{self.similarity!r}")
        if self.contrast not in CONTRASTS:
            raise ValueError(f"contrast: expected one of {list(CONTRASTS)}, got "
                             f"{self.contrast!r}")

    @property
    def feature_dim(self) -> int:
        """Size of the latent feature ``[h, z]`` heads and agents read."""
        return self.deter + self.stoch


def _layers(image_size: int) -> int:
    """Stride-2 convolutions from the picture down to 4x4."""
    return int(math.log2(image_size // 4))


class ConvEncoder(nn.Module):
    """Picture ``(..., 3, S, S)`` in [-0.5, 0.5] -> embedding: 4x4-kernel, stride-2
    convolutions down to 4x4 pixels, ``depth`` channels doubling each layer."""

    def __init__(self, image_size: int, depth: int):
        super().__init__()
        layers, channels = [], 3
        for i in range(_layers(image_size)):
            layers += [nn.Conv2d(channels, depth * 2**i, 4, stride=2, padding=1), nn.ELU()]
            channels = depth * 2**i
        self.net = nn.Sequential(*layers, nn.Flatten())
        self.embed_dim = channels * 16

    def forward(self, pictures):
        batch = pictures.shape[:-3]
        return self.net(pictures.reshape(-1, *pictures.shape[-3:])).reshape(*batch, -1)


class ConvDecoder(nn.Module):
    """Latent feature -> the mean of the picture: the encoder mirrored."""

    def __init__(self, feature_dim: int, image_size: int, depth: int):
        super().__init__()
        n = _layers(image_size)
        self.channels = depth * 2 ** (n - 1)
        self.linear = nn.Linear(feature_dim, self.channels * 16)
        layers = []
        for i in reversed(range(n)):
            out = 3 if i == 0 else depth * 2 ** (i - 1)
            layers.append(nn.ConvTranspose2d(depth * 2**i, out, 4, stride=2, padding=1))
            if i:
                layers.append(nn.ELU())
        self.net = nn.Sequential(*layers)

    def forward(self, features):
        batch = features.shape[:-1]
        x = self.linear(features.reshape(-1, features.shape[-1])).reshape(-1, self.channels, 4, 4)
        pictures = self.net(x)
        return pictures.reshape(*batch, *pictures.shape[1:])


def as_input(pictures: torch.Tensor) -> torch.Tensor:
    """Pictures of whole numbers 0-255 (uint8 or float) -> floats in [-0.5, 0.5]."""
    return pictures.float() / 255.0 - 0.5


JITTER = (0.2, 0.3, 0.2, 0.3)  # brightness, contrast, saturation, hue: the thesis' ColorJitter


def color_jitter(pictures: torch.Tensor, generator=None) -> torch.Tensor:
    """Kornia's ``ColorJitter(*JITTER)`` as kornia 0.5 applies it to pictures ``(N, 3, S, S)``
    in [0, 1]: per picture a brightness shift in [-0.2, 0.2], a contrast factor in [0.7, 1.3],
    a saturation factor in [0.8, 1.2] and a hue rotation in [-0.3, 0.3] turns, in an order drawn
    for the batch, each result clamped to [0, 1]."""
    brightness, contrast, saturation, hue = JITTER
    n, device = len(pictures), pictures.device

    def uniform(low, high):
        return low + (high - low) * torch.rand(n, 1, 1, 1, generator=generator, device=device)

    def in_hsv(change):
        return hsv_to_rgb(change(rgb_to_hsv(pictures)))

    steps = [
        lambda x: x + uniform(-brightness, brightness),
        lambda x: x * uniform(1 - contrast, 1 + contrast),
        lambda x: in_hsv(lambda hsv: torch.cat(
            [hsv[:, :1], hsv[:, 1:2] * uniform(1 - saturation, 1 + saturation), hsv[:, 2:]], 1)),
        lambda x: in_hsv(lambda hsv: torch.cat(
            [(hsv[:, :1] + uniform(-hue, hue)) % 1.0, hsv[:, 1:]], 1)),
    ]
    order = torch.randperm(4, generator=generator,
                           device=generator.device if generator is not None else "cpu")
    for k in order.tolist():
        pictures = steps[k](pictures).clamp(0.0, 1.0)
    return pictures


def rgb_to_hsv(rgb: torch.Tensor) -> torch.Tensor:
    """Pictures ``(N, 3, S, S)`` in [0, 1] -> hue (in turns), saturation, value, each in [0, 1]."""
    value, argmax = rgb.max(1, keepdim=True)
    spread = value - rgb.min(1, keepdim=True).values
    saturation = torch.where(value > 0, spread / value.clamp_min(1e-8), torch.zeros_like(value))
    r, g, b = rgb[:, :1], rgb[:, 1:2], rgb[:, 2:]
    safe = spread.clamp_min(1e-8)
    hue = torch.where(argmax == 0, ((g - b) / safe) % 6,
                      torch.where(argmax == 1, (b - r) / safe + 2, (r - g) / safe + 4))
    hue = torch.where(spread > 0, hue / 6.0, torch.zeros_like(hue))
    return torch.cat([hue, saturation, value], 1)


def hsv_to_rgb(hsv: torch.Tensor) -> torch.Tensor:
    """The inverse of ``rgb_to_hsv``."""
    hue, saturation, value = hsv[:, :1] * 6.0, hsv[:, 1:2], hsv[:, 2:]
    k = (torch.tensor([5.0, 3.0, 1.0], device=hsv.device).view(1, 3, 1, 1) + hue) % 6
    return value - value * saturation * torch.clamp(torch.minimum(k, 4 - k), 0.0, 1.0)


def random_shift(pictures: torch.Tensor, pad: int, generator=None) -> torch.Tensor:
    """Each picture ``(N, C, S, S)`` padded by replicating its border and cropped back at a
    random offset of up to ``pad`` pixels (DrQ's and CURL's augmentation)."""
    if pad == 0:
        return pictures
    n, _, size, _ = pictures.shape
    padded = F.pad(pictures, (pad,) * 4, mode="replicate")
    offsets = torch.randint(0, 2 * pad + 1, (n, 2), generator=generator,
                            device=pictures.device)
    rows = (offsets[:, :1] + torch.arange(size, device=pictures.device))  # (n, S)
    cols = (offsets[:, 1:] + torch.arange(size, device=pictures.device))
    index = torch.arange(n, device=pictures.device)[:, None, None, None]
    channels = torch.arange(pictures.shape[1], device=pictures.device)[None, :, None, None]
    return padded[index, channels, rows[:, None, :, None], cols[:, None, None, :]]


def kl_per_sample(posteriors: dict, priors: dict) -> torch.Tensor:
    """The thesis' KL(prior || posterior) of each (time, sequence), summed over the state's
    dimensions; the loss clamps each at the free nats before averaging."""
    return torch.distributions.kl_divergence(
        torch.distributions.Normal(priors["mean"], priors["std"]),
        torch.distributions.Normal(posteriors["mean"], posteriors["std"])).sum(-1)


class RSSM(nn.Module):
    """The world model: encoder, transition (prior), posterior, reward head, and the decoder
    (reconstruction) or the contrastive projection (contrastive)."""

    def __init__(self, config: RSSMConfig):
        super().__init__()
        c = self.config = config
        self.encoder = ConvEncoder(c.image_size, c.depth)
        self.gru_input = nn.Sequential(nn.Linear(c.stoch + c.action_dim, c.hidden), nn.ELU())
        self.gru = nn.GRUCell(c.hidden, c.deter)
        self.prior_net = mlp([c.deter, c.hidden, 2 * c.stoch], nn.ELU)
        self.posterior_net = mlp([c.deter + self.encoder.embed_dim, c.hidden, 2 * c.stoch],
                                 nn.ELU)
        self.reward_head = mlp([c.feature_dim, c.hidden, c.hidden, 1], nn.ELU)
        if c.representation == "reconstruction":
            self.decoder = ConvDecoder(c.feature_dim, c.image_size, c.depth)
        else:  # the latent feature and what it is contrasted with, projected to a common space
            # by two layers with an ELU between, as the thesis' CURL model
            self.query = mlp([c.feature_dim, c.hidden, c.hidden], nn.ELU)
            keys = c.feature_dim if c.contrast == "augmented_latent" else self.encoder.embed_dim
            self.key = mlp([keys, c.hidden, c.hidden], nn.ELU)
            self.bilinear = nn.Parameter(torch.eye(c.hidden))

    # --- the latent state ------------------------------------------------------------------------

    def initial(self, batch: int) -> dict:
        """The state before the first picture: zeros."""
        zeros = lambda n: torch.zeros(batch, n, device=self.gru.weight_hh.device)  # noqa: E731
        return {"deter": zeros(self.config.deter), "stoch": zeros(self.config.stoch),
                "mean": zeros(self.config.stoch), "std": zeros(self.config.stoch)}

    def _gaussian(self, net, x, deter) -> dict:
        mean, std = net(x).chunk(2, -1)
        std = F.softplus(std) + self.config.min_std
        return {"deter": deter, "mean": mean, "std": std,
                "stoch": mean + std * torch.randn_like(std)}

    def imagine_step(self, state: dict, action: torch.Tensor) -> dict:
        """The prior of the next state, from the state and the action taken in it."""
        deter = self.gru(self.gru_input(torch.cat([state["stoch"], action], -1)), state["deter"])
        return self._gaussian(self.prior_net, deter, deter)

    def observe_step(self, prior: dict, embed: torch.Tensor) -> dict:
        """The posterior of a state, from its prior and the embedding of its picture."""
        return self._gaussian(self.posterior_net, torch.cat([prior["deter"], embed], -1),
                              prior["deter"])

    def observe(self, embeds: torch.Tensor, actions: torch.Tensor, state: dict | None = None):
        """Posteriors and priors along sequences: ``embeds (T, B, E)``, ``actions (T, B, A)``
        where ``actions[t]`` led to picture ``t`` (at t = 0 the action before the sequence,
        zeros if none), starting from ``state`` (zeros if None). Returns two dicts of
        ``(T, B, .)`` tensors."""
        state = state or self.initial(embeds.shape[1])
        posteriors, priors = [], []
        for t in range(embeds.shape[0]):
            prior = self.imagine_step(state, actions[t])
            state = self.observe_step(prior, embeds[t])
            posteriors.append(state)
            priors.append(prior)
        stack = lambda states: {k: torch.stack([s[k] for s in states]) for k in states[0]}  # noqa: E731
        return stack(posteriors), stack(priors)

    def imagine(self, state: dict, actions: torch.Tensor) -> dict:
        """Open-loop priors ``(T, B, .)`` from ``state`` under ``actions (T, B, A)``."""
        states = []
        for action in actions:
            state = self.imagine_step(state, action)
            states.append(state)
        return {k: torch.stack([s[k] for s in states]) for k in states[0]}

    @staticmethod
    def feature(state: dict) -> torch.Tensor:
        return torch.cat([state["deter"], state["stoch"]], -1)

    # --- the losses ------------------------------------------------------------------------------

    def similarities(self, features: torch.Tensor, embeds: torch.Tensor) -> torch.Tensor:
        """``(N, N)`` scores of every latent feature against every embedding (or latent
        feature, ``augmented_latent``); row i's positive is column i."""
        queries, keys = self.query(features), self.key(embeds)
        kind = self.config.similarity
        if kind == "bilinear":
            logits = queries @ self.bilinear @ keys.T
        elif kind == "cosine":
            logits = F.normalize(queries, dim=-1) @ F.normalize(keys, dim=-1).T
            return logits / self.config.temperature
        else:
            logits = queries @ keys.T
        return logits - logits.max(1, keepdim=True).values.detach()  # CURL's stabilisation

    def augment(self, inputs: torch.Tensor, generator=None) -> torch.Tensor:
        """The contrastive views of pictures ``(N, 3, S, S)`` in [-0.5, 0.5]: the random shift,
        then the colour jitter (the thesis' 'crop jitter')."""
        shifted = random_shift(inputs, self.config.shift, generator)
        if not self.config.color_jitter:
            return shifted
        return color_jitter(shifted + 0.5, generator) - 0.5

    def loss(self, pictures: torch.Tensor, actions: torch.Tensor, rewards: torch.Tensor,
             generator=None) -> tuple[torch.Tensor, dict]:
        """The training loss on sequences ``pictures (T, B, 3, S, S)`` (0-255),
        ``actions (T, B, A)`` (``actions[t]`` led to picture t), ``rewards (T, B)`` (the reward
        of that transition); returns it and its parts (floats)."""
        c = self.config
        inputs = as_input(pictures)
        shifted = lambda: self.augment(inputs.flatten(0, 1),  # noqa: E731
                                       generator).unflatten(0, inputs.shape[:2])
        augmented = c.representation == "contrastive" and c.contrast != "embedding"
        seen = shifted() if augmented else inputs
        posteriors, priors = self.observe(self.encoder(seen), actions)
        features = self.feature(posteriors)
        kl = kl_per_sample(posteriors, priors)
        reward_loss = 0.5 * F.mse_loss(self.reward_head(features).squeeze(-1), rewards)
        if c.representation == "reconstruction":
            representation = 0.5 * ((self.decoder(features) - inputs) ** 2).sum((-3, -2, -1)).mean()
        else:
            keys = self.encoder(shifted())
            if c.contrast == "augmented_latent":
                with torch.no_grad():
                    keys = self.feature(self.observe(keys, actions)[0])
            logits = self.similarities(features.flatten(0, 1), keys.flatten(0, 1))
            representation = F.cross_entropy(logits, torch.arange(len(logits),
                                                                  device=logits.device))
        total = representation + reward_loss + kl.clamp(min=c.free_nats).mean()
        parts = {"representation": representation, "reward": reward_loss, "kl": kl.mean()}
        return total, {name: float(value.detach()) for name, value in parts.items()}
