"""Networks shared by every agent.

All networks work on sequences and carry a leading *member* axis: inputs have shape
``(members, batch, time, features)``, where the members are independent runs (seeds) of one
configuration trained together, each network a stack of per-member weights evaluated in one
batched matmul (``rlrepro.models.mlp.EnsembleMLP``). A single run has one member.

A memoryless agent sees a transition as a sequence of two observations ``(o, o')``; a recurrent
agent sees a whole episode or a segment of it. The *encoder* turns observations into features:
the identity for a memoryless agent, a recurrent summarizer (LSTM or GRU over the observation
history) for a recurrent one, a learned MLP encoder for an agent whose representation is also
trained by a self-supervised loss (``td3_ssl``, ``td3_pad``). Everything after the encoder is
shared.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from rlrepro.models.mlp import EnsembleMLP

LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0  # clamp of the Gaussian actor's log std (SAC paper code)


class Identity(nn.Module):
    """The memoryless encoder: the features are the current observation."""

    def __init__(self, obs_dim: int):
        super().__init__()
        self.out_dim = obs_dim

    def forward(self, obs, state=None):
        return obs, None


def squash_features(x):
    """Features layer-normalised and squashed by tanh (as SAC-AE's and PAD's encoders), so that
    they cannot grow without bound to please one loss."""
    return torch.tanh(F.layer_norm(x, x.shape[-1:]))


class MLPEncoder(nn.Module):
    """A learned memoryless encoder: an MLP per member from the observation to ``feature_dim``
    features (``squash_features``)."""

    def __init__(self, obs_dim: int, feature_dim: int, hidden: list[int], members: int = 1):
        super().__init__()
        self.net = EnsembleMLP([obs_dim, *hidden, feature_dim], (members,))
        self.out_dim = feature_dim

    def forward(self, obs, state=None):  # (members, B, T, obs_dim) -> (members, B, T, F)
        members, batch, time, _ = obs.shape
        features = squash_features(self.net(obs.reshape(members, batch * time, -1)))
        return features.view(members, batch, time, -1), None

    def trunk(self, obs):  # (members, N, obs_dim) -> (members, N, hidden[-1])
        """The activations that feed the last layer: the layers PAD's self-supervised branch
        shares with this encoder (``trunk_parameters``)."""
        return torch.relu(self.net(obs, layers=len(self.net.weights) - 1))

    def trunk_parameters(self) -> list:
        return [*self.net.weights[:-1], *self.net.biases[:-1]]


class Summarizer(nn.Module):
    """A recurrent encoder: features at step t summarize the observations o_0..o_t.

    Training starts every sequence from a zero hidden state (no burn-in, as the paper); acting
    carries ``state`` from step to step. One member only: the recurrent agents train one seed
    per process (stacking LSTMs across seeds would need a batched recurrent cell of our own).
    """

    def __init__(self, obs_dim: int, size: int, layers: int = 1, cell: str = "lstm"):
        super().__init__()
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell]
        self.rnn = rnn(obs_dim, size, num_layers=layers, batch_first=True)
        self.out_dim = size

    def forward(self, obs, state=None):  # (1, B, T, obs_dim) -> (1, B, T, size)
        features, state = self.rnn(obs[0], state)
        return features[None], state


class Critics(nn.Module):
    """``n`` Q-functions per member, Q_i(features_i, action), their MLP heads one ensemble.

    ``encoders`` holds one encoder per Q-function (separate summarizers, as the paper's recurrent
    agents) or a single one whose features every Q-function shares (memoryless agents, and the
    shared-summarizer RSAC).
    """

    def __init__(self, encoders: list[nn.Module], act_dim: int, hidden: list[int], n: int,
                 members: int = 1):
        super().__init__()
        self.encoders = nn.ModuleList(encoders)
        self.n = n
        self.net = EnsembleMLP([self.encoders[0].out_dim + act_dim, *hidden, 1], (members, n))

    def encode(self, obs):
        """Features of every Q-function: ``(members, n, batch, time, features)``."""
        features = [encoder(obs)[0] for encoder in self.encoders]
        if len(features) == 1:
            return features[0].unsqueeze(1).expand(-1, self.n, *features[0].shape[1:])
        return torch.stack(features, dim=1)

    def forward(self, features, actions, first: int | None = None):
        """Q-values ``(members, n, batch, time)`` of ``actions (members, batch, time, act_dim)``;
        with ``first`` only the first Q-functions (TD3's actor is trained on Q1 alone)."""
        features = features if first is None else features[:, :first]
        members, n, batch, time, _ = features.shape
        actions = actions.unsqueeze(1).expand(-1, n, -1, -1, -1)
        x = torch.cat([features, actions], dim=-1).reshape(members * n, batch * time, -1)
        return self.net(x, first).view(members, n, batch, time)


class Actor(nn.Module):
    """A policy over features: squashed Gaussian (``stochastic``, SAC) or deterministic tanh."""

    def __init__(self, encoder: nn.Module, act_dim: int, hidden: list[int], stochastic: bool,
                 members: int = 1):
        super().__init__()
        self.encoder = encoder
        self.stochastic = stochastic
        self.net = EnsembleMLP([encoder.out_dim, *hidden, 2 * act_dim if stochastic else act_dim],
                               (members,))

    def forward(self, features, deterministic=False, noise=None, with_log_prob=True):
        """Action in [-1, 1] and, for a stochastic actor, its log-probability (else None; also
        without ``with_log_prob``: acting needs none, and it is a third of an action's ops).

        ``noise(shape)`` draws the standard normal sample of each member from its own generator
        (``Agent.noise``), so a member's actions do not depend on the others.
        """
        if not self.stochastic:
            return torch.tanh(self._out(features)), None
        mean, log_std = self.gaussian(features)
        if deterministic:
            return torch.tanh(mean), None
        eps = noise(mean.shape)
        u = mean + log_std.exp() * eps
        return torch.tanh(u), squashed_gaussian_log_prob(u, eps, log_std) if with_log_prob else None


    def _out(self, features):
        members, batch, time, _ = features.shape
        return self.net(features.reshape(members, batch * time, -1)).view(members, batch, time, -1)

    def gaussian(self, features):
        """A stochastic actor's Gaussian before the tanh: ``(mean, log_std)``, each
        ``(members, B, T, act_dim)``, the log std clamped."""
        mean, log_std = self._out(features).chunk(2, dim=-1)
        return mean, log_std.clamp(LOG_STD_MIN, LOG_STD_MAX)


def squashed_gaussian_log_prob(u, eps, log_std):
    """log-density of ``tanh(u)`` for ``u = mean + exp(log_std) * eps``, ``eps ~ N(0, 1)``,
    summed over the last axis.

    log N(u; mean, std) - sum log(1 - tanh(u)^2). The Gaussian term is written with ``eps``
    (= (u - mean) / std) and ``log_std``: the same value and the same gradients as computing it
    from u, in fewer ops. The log-det is written as 2 (log 2 - u - softplus(-2u)): exact and
    finite for any u (SB3 instead adds 1e-6 inside the log, which caps the correction at
    log(1e-6) per dimension when |u| is large).
    """
    gaussian = (-0.5 * eps ** 2 - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)
    return gaussian - (2 * (math.log(2) - u - F.softplus(-2 * u))).sum(-1)
