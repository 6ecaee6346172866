"""Does a policy behave like a skill? Deep RLSP's skill score (Lindner et al. 2021, Sec. 3.4): a
small classifier learns to tell windows of consecutive observations of the skill's rollouts
from windows of the learned policy's, and is scored on episodes it has not seen. Held-out
accuracy near 0.5 means the policy moves like the skill; near 1, that it is easy to tell apart.

The paper's discriminator has one hidden layer of 10 units on windows of 50 observations; the
original code scores it by its cross-entropy over training (higher = harder to tell apart, ln 2
at chance), which we report as well (on the held-out episodes).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional

from rlrepro.models.fitting import mean_std, seeded, train
from rlrepro.models.mlp import mlp


@dataclass(frozen=True)
class DiscriminatorConfig:
    window: int = 50      # consecutive observations per input (the paper's)
    hidden: int = 10      # units of the one hidden layer (the paper's)
    lr: float = 1e-3      # Adam step size
    epochs: int = 100     # passes through the training windows
    batch_size: int = 32  # windows per step


def windows(episodes: list[np.ndarray], length: int) -> np.ndarray:
    """Non-overlapping windows of ``length`` consecutive observations of each episode
    ``(T, obs_dim)``, flattened: ``(n, length * obs_dim)``; an episode's tail shorter than a
    window is left out."""
    rows = [episode[k:k + length].reshape(-1) for episode in episodes
            for k in range(0, len(episode) - length + 1, length)]
    if not rows:
        raise ValueError(f"window: no episode has {length} observations "
                         f"(lengths {[len(e) for e in episodes]})")
    return np.stack(rows).astype(np.float32)


def discriminator_score(skill_episodes: list[np.ndarray], policy_episodes: list[np.ndarray],
                        cfg: DiscriminatorConfig = DiscriminatorConfig(), seed: int = 0) -> dict:
    """Train on the first half of each side's episodes, test on the second half: the held-out
    ``accuracy`` (balanced over the two sides) and binary cross-entropy ``loss``."""
    if min(len(skill_episodes), len(policy_episodes)) < 2:
        raise ValueError("discriminator_score: at least 2 episodes per side (half train, half "
                         "test)")
    halves = [(windows(e[:len(e) // 2], cfg.window), windows(e[len(e) // 2:], cfg.window))
              for e in (skill_episodes, policy_episodes)]
    x_train = torch.as_tensor(np.concatenate([halves[0][0], halves[1][0]]))
    y_train = torch.cat([torch.ones(len(halves[0][0])), torch.zeros(len(halves[1][0]))])
    mean, std = mean_std(x_train)
    with seeded(seed):
        network = mlp([x_train.shape[1], cfg.hidden, 1])
    logits = lambda x: network((x - mean) / std).squeeze(-1)  # noqa: E731
    train(lambda i: functional.binary_cross_entropy_with_logits(logits(x_train[i]), y_train[i]),
          network.parameters(), len(x_train), lr=cfg.lr, epochs=cfg.epochs,
          batch_size=min(cfg.batch_size, len(x_train)),
          generator=torch.Generator().manual_seed(seed), desc="discriminator")
    with torch.no_grad():
        accuracy, loss = [], []
        for label, test in ((1.0, halves[0][1]), (0.0, halves[1][1])):
            out = logits(torch.as_tensor(test))
            target = torch.full_like(out, label)
            accuracy.append(float(((out > 0).float() == target).float().mean()))
            loss.append(float(functional.binary_cross_entropy_with_logits(out, target)))
    return {"accuracy": float(np.mean(accuracy)), "loss": float(np.mean(loss))}
