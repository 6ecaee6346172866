"""Training the RSSM on replayed sequences, acting through it, and measuring what its latent
state knows: a linear probe to the true state, the reward prediction error, and open-loop video
predictions (PlaNet, Hafner et al. 2019; the latent-dynamics thesis' direct measures).
"""
from __future__ import annotations

import numpy as np
import torch
from tqdm.auto import tqdm

from rlrepro.latent.replay import SequenceReplay
from rlrepro.models.rssm import RSSM, ConvDecoder, as_input


def train_model(model: RSSM, optimizer: torch.optim.Optimizer, replay: SequenceReplay,
                updates: int, batch: int, length: int, grad_clip: float,
                progress: bool = False) -> list[dict]:
    """``updates`` Adam steps of the world model's loss on sequences from ``replay``, the
    gradient's norm clipped at ``grad_clip`` (the thesis: 100; PlaNet: 1000). Returns each
    step's loss parts."""
    history, device = [], model_device(model)
    for _ in tqdm(range(updates), desc="world model", disable=not progress, leave=False):
        data = replay.sample(batch, length, device)
        loss, parts = model.loss(data["pictures"], data["actions"], data["rewards"])
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        optimizer.step()
        history.append(parts)
    return history


def model_device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def as_sequence(model: RSSM, episode: dict, key: str, end=None) -> torch.Tensor:
    """An episode's ``key`` (pictures or actions) up to ``end`` as one sequence ``(T, 1, ...)``
    on the model's device."""
    return torch.as_tensor(episode[key][:end], device=model_device(model)).float()[:, None]


def mean_feature(state: dict) -> torch.Tensor:
    """The latent feature ``[h, z]`` with ``z`` at its mean: a deterministic summary."""
    return torch.cat([state["deter"], state["mean"]], -1)


@torch.no_grad()
def posteriors(model: RSSM, data: dict) -> dict:
    """The posterior states along sequences ``(T, B, ...)`` (``SequenceReplay.sample``'s
    layout), detached."""
    return model.observe(model.encoder(as_input(data["pictures"])), data["actions"])[0]


@torch.no_grad()
def episode_features(model: RSSM, episode: dict) -> np.ndarray:
    """The mean latent feature after each picture of a recorded episode, ``(T+1, F)``."""
    data = {key: as_sequence(model, episode, key) for key in ("pictures", "actions")}
    return mean_feature(posteriors(model, data))[:, 0].cpu().numpy()


def linear_probe(train_x, train_y, test_x, test_y, ridge: float = 1e-2) -> float:
    """R^2 on held-out rows of a ridge regression from latent features to true states, averaged
    over the state's dimensions (1: the state is a linear read-out of the latent; 0: no better
    than the mean; below 0 worse than the mean, e.g. a read-out that does not carry over to
    held-out episodes). Features and targets are standardised with the training rows'; the
    ridge penalty is ``ridge`` times the number of rows."""
    mean_x, std_x = train_x.mean(0), train_x.std(0) + 1e-6
    mean_y, std_y = train_y.mean(0), train_y.std(0) + 1e-6
    x = np.c_[(train_x - mean_x) / std_x, np.ones(len(train_x))]
    y = (train_y - mean_y) / std_y
    weights = np.linalg.solve(x.T @ x + ridge * len(x) * np.eye(x.shape[1]), x.T @ y)
    predicted = np.c_[(test_x - mean_x) / std_x, np.ones(len(test_x))] @ weights * std_y + mean_y
    residual = ((test_y - predicted) ** 2).sum(0)
    total = ((test_y - test_y.mean(0)) ** 2).sum(0)
    keep = total > 1e-8  # a constant coordinate has nothing to explain
    return float(np.mean(1.0 - residual[keep] / total[keep]))


def probe(model: RSSM, train: list[dict], test: list[dict]) -> float:
    """``linear_probe`` from the latent features of ``train`` episodes to their true states,
    scored on ``test`` episodes."""
    stack = lambda episodes, f: np.concatenate([f(e) for e in episodes])  # noqa: E731
    features = lambda e: episode_features(model, e)  # noqa: E731
    return linear_probe(stack(train, features), stack(train, lambda e: e["states"]),
                        stack(test, features), stack(test, lambda e: e["states"]))


@torch.no_grad()
def reward_error(model: RSSM, episodes: list[dict]) -> float:
    """Mean squared error of the reward predicted one step ahead, from the prior (the picture
    of the next step unseen): what planning and imagination rely on."""
    errors = []
    for episode in episodes:
        pictures, actions = (as_sequence(model, episode, key) for key in ("pictures", "actions"))
        posterior = posteriors(model, {"pictures": pictures[:-1], "actions": actions[:-1]})
        prior = model.imagine_step({k: v[:, 0] for k, v in posterior.items()}, actions[1:, 0])
        predicted = model.reward_head(mean_feature(prior)).squeeze(-1)
        errors.append((predicted.cpu().numpy() - episode["rewards"][1:]) ** 2)
    return float(np.concatenate(errors).mean())


def fit_decoder(model: RSSM, replay: SequenceReplay, updates: int, batch: int, length: int,
                lr: float = 1e-3) -> ConvDecoder:
    """A decoder from the frozen model's latent features to pictures: the model's own for
    reconstruction; for a contrastive model, one trained here on its detached features, to
    watch its predictions (what the latent keeps of the picture)."""
    if model.config.representation == "reconstruction":
        return model.decoder
    c = model.config
    decoder = ConvDecoder(c.feature_dim, c.image_size, c.depth).to(model_device(model))
    optimizer = torch.optim.Adam(decoder.parameters(), lr=lr)
    for _ in range(updates):
        data = replay.sample(batch, length, model_device(model))
        features = mean_feature(posteriors(model, data))
        loss = ((decoder(features) - as_input(data["pictures"])) ** 2).sum((-3, -2, -1)).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return decoder


@torch.no_grad()
def open_loop(model: RSSM, decoder: ConvDecoder, episode: dict, context: int,
              horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """The true pictures and the model's open-loop prediction of them, each
    ``(context + horizon, S, S, 3)`` uint8: the first ``context`` pictures are seen (their
    posterior, decoded), the next ``horizon`` imagined from the episode's actions alone."""
    end = context + horizon
    pictures, actions = (as_sequence(model, episode, key, end) for key in ("pictures", "actions"))
    seen = posteriors(model, {"pictures": pictures[:context], "actions": actions[:context]})
    last = {k: v[-1] for k, v in seen.items()}
    imagined = model.imagine(last, actions[context:])
    imagined["stoch"] = imagined["mean"]
    features = torch.cat([mean_feature(seen), model.feature(imagined)])[:, 0]
    predicted = ((decoder(features) + 0.5) * 255).clamp(0, 255)
    as_frames = lambda x: x.permute(0, 2, 3, 1).cpu().numpy().astype(np.uint8)  # noqa: E731
    return as_frames(pictures[:, 0]), as_frames(predicted)


class LatentPolicy:
    """Acts from pictures through a world model, with the agents' acting interface
    (``evaluation.rollouts``): the posterior of the latent state is carried along the episode
    (filtering), with the action last taken; :meth:`choose` maps latent states to actions.
    One member per environment, all through the same model. Training-time actions get Gaussian
    noise of std ``exploration_noise`` (Dreamer's 0.3) unless the policy samples its own."""

    def __init__(self, model: RSSM, act_dim: int, exploration_noise: float = 0.0):
        self.model, self.act_dim, self.exploration_noise = model, act_dim, exploration_noise

    @property
    def device(self) -> torch.device:
        return model_device(self.model)

    def initial_state(self):
        return None

    @torch.no_grad()
    def act(self, obs, state=None, deterministic=False):
        pictures = torch.as_tensor(np.asarray(obs), dtype=torch.float32, device=self.device)
        if state is None:
            latent = self.model.initial(len(pictures))
            previous = torch.zeros(len(pictures), self.act_dim, device=self.device)
        else:
            latent, previous = state
        prior = self.model.imagine_step(latent, previous)
        latent = self.model.observe_step(prior, self.model.encoder(as_input(pictures)))
        action = self.choose(latent, deterministic)
        if not deterministic and self.exploration_noise > 0:
            action = (action + self.exploration_noise * torch.randn_like(action)).clamp(-1, 1)
        return action.cpu().numpy(), (latent, action)

    def choose(self, latent: dict, deterministic: bool) -> torch.Tensor:
        """Actions ``(n, act_dim)`` in [-1, 1] for latent states of ``n`` episodes."""
        raise NotImplementedError
