"""Networks shared by every agent.

All networks work on sequences: inputs have shape ``(batch, time, features)``. A memoryless agent
sees a transition as a sequence of two observations ``(o, o')``; a recurrent agent sees a whole
episode or a segment of it. The *encoder* turns observations into features: the identity for a
memoryless agent, a recurrent summarizer (LSTM or GRU over the observation history) for a
recurrent one. Everything after the encoder is shared.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from rlrepro.models.mlp import mlp

LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0  # clamp of the Gaussian actor's log std (SAC paper code)


class Identity(nn.Module):
    """The memoryless encoder: the features are the current observation."""

    def __init__(self, obs_dim: int):
        super().__init__()
        self.out_dim = obs_dim

    def forward(self, obs, state=None):
        return obs, None


class Summarizer(nn.Module):
    """A recurrent encoder: features at step t summarize the observations o_0..o_t.

    Training starts every sequence from a zero hidden state (no burn-in, as the paper); acting
    carries ``state`` from step to step.
    """

    def __init__(self, obs_dim: int, size: int, layers: int = 1, cell: str = "lstm"):
        super().__init__()
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell]
        self.rnn = rnn(obs_dim, size, num_layers=layers, batch_first=True)
        self.out_dim = size

    def forward(self, obs, state=None):
        return self.rnn(obs, state)


class EnsembleLinear(nn.Module):
    """``n`` independent linear layers evaluated in one batched matmul."""

    def __init__(self, n: int, in_features: int, out_features: int):
        super().__init__()
        bound = 1.0 / math.sqrt(in_features)  # nn.Linear's default initialisation
        self.weight = nn.Parameter(torch.empty(n, in_features, out_features).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(n, 1, out_features).uniform_(-bound, bound))

    def forward(self, x, members: int | None = None):  # (n, N, in) -> (n, N, out)
        """All members, or only the first ``members`` of them."""
        if members is None:
            return torch.baddbmm(self.bias, x, self.weight)
        return torch.baddbmm(self.bias[:members], x, self.weight[:members])


class Critics(nn.Module):
    """``n`` Q-functions Q_i(features_i, action), their MLP heads run as one ensemble.

    ``encoders`` holds one encoder per Q-function (separate summarizers, as the paper's recurrent
    agents) or a single one whose features every Q-function shares (memoryless agents, and the
    shared-summarizer RSAC).
    """

    def __init__(self, encoders: list[nn.Module], act_dim: int, hidden: list[int], n: int):
        super().__init__()
        self.encoders = nn.ModuleList(encoders)
        self.n = n
        sizes = [self.encoders[0].out_dim + act_dim, *hidden, 1]
        self.layers = nn.ModuleList(EnsembleLinear(n, n_in, n_out)
                                    for n_in, n_out in zip(sizes[:-1], sizes[1:]))

    def encode(self, obs):
        """Features of every Q-function: ``(n, batch, time, features)``."""
        features = [encoder(obs)[0] for encoder in self.encoders]
        if len(features) == 1:
            return features[0].expand(self.n, *features[0].shape)
        return torch.stack(features)

    def forward(self, features, actions, members: int | None = None):
        """Q-values ``(n, batch, time)`` of ``actions (batch, time, act_dim)``; with ``members``
        only the first ones (TD3's actor is trained on Q1 alone)."""
        features = features if members is None else features[:members]
        n, batch, time, _ = features.shape
        x = torch.cat([features, actions.expand(n, *actions.shape)], dim=-1).reshape(n, batch * time, -1)
        for i, layer in enumerate(self.layers):
            x = layer(x, members)
            if i < len(self.layers) - 1:
                x = torch.relu(x)
        return x.reshape(n, batch, time)


class Actor(nn.Module):
    """A policy over features: squashed Gaussian (``stochastic``, SAC) or deterministic tanh."""

    def __init__(self, encoder: nn.Module, act_dim: int, hidden: list[int], stochastic: bool):
        super().__init__()
        self.encoder = encoder
        self.stochastic = stochastic
        self.net = mlp([encoder.out_dim, *hidden, 2 * act_dim if stochastic else act_dim])

    def forward(self, features, deterministic=False):
        """Action in [-1, 1] and, for a stochastic actor, its log-probability (else None)."""
        out = self.net(features)
        if not self.stochastic:
            return torch.tanh(out), None
        mean, log_std = out.chunk(2, dim=-1)
        if deterministic:
            return torch.tanh(mean), None
        std = log_std.clamp(LOG_STD_MIN, LOG_STD_MAX).exp()
        u = mean + std * torch.randn_like(mean)
        return torch.tanh(u), squashed_gaussian_log_prob(u, mean, std)


def squashed_gaussian_log_prob(u, mean, std):
    """log-density of ``tanh(u)`` for ``u ~ N(mean, std)``, summed over the last axis.

    log N(u; mean, std) - sum log(1 - tanh(u)^2), the log-det written as
    2 (log 2 - u - softplus(-2u)): exact and finite for any u (SB3 instead adds 1e-6 inside the
    log, which caps the correction at log(1e-6) per dimension when |u| is large).
    """
    gaussian = (-0.5 * ((u - mean) / std) ** 2 - std.log() - 0.5 * math.log(2 * math.pi)).sum(-1)
    return gaussian - (2 * (math.log(2) - u - F.softplus(-2 * u))).sum(-1)
