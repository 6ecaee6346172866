"""DDPG, TD3 and SAC, memoryless or recurrent, behind one class interface.

One update serves all eight agents. A memoryless agent trains on transitions (sequences of
length 1, see ``buffers``); a recurrent agent (RDPG, RTD3, RSAC; Yang & Nguyen 2021) puts an
LSTM/GRU summarizer in front of each network and trains on episodes or segments with masked
losses. ``rsac_s`` shares one summarizer between the actor and the critics, trained only through
the critic loss (the actor sees its features detached). ``sac_prior`` is SAC whose entropy
bonus is replaced by the divergence from a learned prior, SPiRL's ``KL(pi(.|s) || prior(.|s))``
between the policy's Gaussian before its tanh and the prior's (its high level, Pertsch et al.
2020), the temperature tuned towards a target divergence. ``td3_pad`` is TD3 whose actor and
critics share a learned encoder trained by the critic loss, with PAD's self-supervised branch
beside it (Hansen et al. 2021): an encoder that shares all but the last layer with the critic's
and an inverse dynamics head (f(s), f(s')) -> a on it, trained every other update by its own
optimizer; ``adapt`` steps the shared layers and the branch by the inverse dynamics loss alone,
without reward (PAD's test-time adaptation). ``td3_ssl`` is our ablation of it: forward and inverse dynamics heads on
the critic encoder's own features, trained with the critic loss, and the whole encoder adapts.

An agent holds one or several *members*: independent runs of one configuration, one per seed,
trained together (every weight has a leading member axis, see ``networks``). Each member has its
own initial weights (from its seed), random streams, optimizer state and loss: the update sums
the members' losses, so each member's gradient, and so its Adam step, is the one a single run
would take on the same batch. Memoryless agents only; recurrent agents have one member.

References: DDPG (Lillicrap et al. 2016), TD3 (Fujimoto et al. 2018), SAC with automatic entropy
tuning (Haarnoja et al. 2018b), RDPG (Heess et al. 2015).
"""
from __future__ import annotations

import copy
import dataclasses
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from rlrepro.agents.buffers import EpisodeBuffer, ReplayBuffer
from rlrepro.agents.networks import (Actor, Critics, Identity, MLPEncoder, Summarizer,
                                     squash_features)
from rlrepro.models.mlp import EnsembleMLP
from rlrepro.agents.optim import FusedAdam
from rlrepro.params import param

@dataclass(frozen=True)
class Algorithm:
    """What distinguishes the eight agents: one row of :data:`ALGORITHMS`."""

    family: str  # the update rule: ddpg, td3 or sac
    recurrent: bool  # an LSTM/GRU summarizer in front of every network, trained on sequences
    shared_summarizer: bool  # one summarizer for actor and critics, trained by the critic loss
    critics: int  # Q-functions; the target is the minimum over them
    prior: bool = False  # SAC regularised towards a learned prior instead of by its entropy
    ssl: str = ""  # self-supervised dynamics heads on a learned encoder: "pad" (PAD's branch)
    # or "dynamics" (forward and inverse heads on the critic's features); "" none


ALGORITHMS = {
    "ddpg": Algorithm("ddpg", recurrent=False, shared_summarizer=False, critics=1),
    "td3": Algorithm("td3", recurrent=False, shared_summarizer=False, critics=2),
    "sac": Algorithm("sac", recurrent=False, shared_summarizer=False, critics=2),
    "rdpg": Algorithm("ddpg", recurrent=True, shared_summarizer=False, critics=1),
    "rtd3": Algorithm("td3", recurrent=True, shared_summarizer=False, critics=2),
    "rsac": Algorithm("sac", recurrent=True, shared_summarizer=False, critics=2),
    "rsac_s": Algorithm("sac", recurrent=True, shared_summarizer=True, critics=2),
    "sac_prior": Algorithm("sac", recurrent=False, shared_summarizer=False, critics=2,
                           prior=True),
    "td3_pad": Algorithm("td3", recurrent=False, shared_summarizer=True, critics=2, ssl="pad"),
    "td3_ssl": Algorithm("td3", recurrent=False, shared_summarizer=True, critics=2,
                         ssl="dynamics"),
}


@dataclass(frozen=True)
class AgentConfig:
    """Hyperparameters of every agent. Defaults are those of Yang & Nguyen (2021)."""

    algorithm: str = param("one of ALGORITHMS", default="sac", choices=tuple(ALGORITHMS))
    hidden: tuple[int, ...] = param("hidden layers of the actor and critic MLPs",
                                    default=(256, 256), min=1)
    lr: float = param("Adam step size of every network (and of SAC's temperature)", default=3e-4,
                      min=1e-8, max=1.0)
    gamma: float = param("discount", default=0.99, min=0.0, max=1.0)
    polyak: float = param("target <- polyak * target + (1 - polyak) * online, at every target "
                          "update", default=0.995, min=0.0, max=1.0)
    transitions_per_batch: int = param("transitions per update of a memoryless agent",
                                       default=100, min=1)
    sequences_per_batch: int = param("episodes or segments per update of a recurrent agent",
                                     default=10, min=1)
    buffer_size: int = param("transitions kept in the replay buffer", default=1_000_000, min=1)
    init_alpha: float = param("SAC: initial entropy temperature (tuned towards entropy -|A|)",
                              default=1.0, min=1e-8)
    tune_alpha: bool = param("SAC: tune the temperature (False: keep init_alpha, as the "
                             "original Deep RLSP Hopper expert's 0.01)", default=True)
    target_divergence: float = param("sac_prior: the temperature is tuned so that KL(pi || "
                                     "prior) approaches this (SPiRL: maze 1, kitchen 5)",
                                     default=1.0, min=0.0)
    exploration_noise: float = param("DDPG/TD3: std of the Gaussian action noise while "
                                     "training", default=0.1, min=0.0)
    target_noise: float = param("TD3: std of the target-policy smoothing noise", default=0.2,
                                min=0.0)
    noise_clip: float = param("TD3: the smoothing noise is clipped to this magnitude",
                              default=0.5, min=0.0)
    policy_delay: int = param("TD3: critic updates per actor and target update", default=2, min=1)
    cell: str = param("recurrent agents: summarizer cell", default="lstm",
                      choices=("lstm", "gru", "rnn"))
    summary_size: int = param("recurrent agents: summarizer hidden size", default=256, min=1)
    summary_layers: int = param("recurrent agents: stacked recurrent layers", default=2, min=1)
    segment_len: int = param("recurrent agents: replay segments of this length (0: whole "
                             "episodes, as the paper)", default=0, min=0)
    feature_dim: int = param("td3_pad, td3_ssl: features of the shared encoder (PAD: 100)",
                             default=100, min=1)
    encoder_hidden: tuple[int, ...] = param("td3_pad, td3_ssl: hidden layers of the encoder MLP "
                                            "(td3_pad: all are shared with the self-supervised "
                                            "branch, as PAD's first conv layers)",
                                            default=(256,), min=1)
    ssl_hidden: tuple[int, ...] = param("td3_pad, td3_ssl: hidden layers of the dynamics heads "
                                        "(PAD's inverse head: two of the networks' width)",
                                        default=(256, 256), min=1)
    ssl_weight: float = param("td3_ssl: weight of the self-supervised loss beside the critic "
                              "loss", default=1.0, min=0.0)
    ssl_update_every: int = param("td3_pad: updates per step of the self-supervised branch "
                                  "(PAD's ss_update_freq: 2)", default=2, min=1)
    adapt_lr: float = param("td3_pad, td3_ssl: Adam step size of test-time adaptation (adapt; "
                            "PAD's encoder_lr and ss_lr: 1e-3)", default=1e-3, min=1e-8, max=1.0)
    device: str = param("auto picks CUDA when present", default="auto", operational=True)

    def __post_init__(self):
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm: expected one of {list(ALGORITHMS)}, got {self.algorithm!r}")

    @property
    def spec(self) -> Algorithm:
        return ALGORITHMS[self.algorithm]

    @property
    def recurrent(self):
        return self.spec.recurrent

    @property
    def family(self):
        """The underlying update rule: ddpg, td3 or sac."""
        return self.spec.family

    @property
    def batch_size(self):
        """Sequences per batch for a recurrent agent, transitions for a memoryless one."""
        return self.sequences_per_batch if self.recurrent else self.transitions_per_batch


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(device)


def member_mean(x, mask):
    """Each member's mean of ``x (members, ...)`` over its real (unpadded) steps: ``(members,)``."""
    axes = tuple(range(1, x.dim()))
    return x.mean(axes) if mask is None else (x * mask).sum(axes) / mask.sum(axes)


class frozen:
    """Context in which ``parameters`` get no gradients (the critics' in the actor loss)."""

    def __init__(self, parameters):
        self.parameters = parameters

    def __enter__(self):
        for p in self.parameters:
            p.requires_grad_(False)

    def __exit__(self, *exc):
        for p in self.parameters:
            p.requires_grad_(True)


class Agent:
    """An off-policy actor-critic agent of one or several members; see :func:`make_agent`.

    ``act`` chooses actions (carrying the recurrent state), ``make_buffer`` builds the matching
    replay buffer, ``update`` does one gradient step on a batch with a leading member axis
    (``buffers.sample_members``). Observations and actions go in and out as
    ``(members, dim)`` arrays.
    """

    stochastic: bool  # a squashed-Gaussian actor (SAC) or a deterministic one (DDPG, TD3)

    def __init__(self, obs_dim: int, act_dim: int, config: AgentConfig, seeds: Sequence[int] = (0,)):
        if config.recurrent and len(seeds) > 1:
            raise ValueError(f"{config.algorithm}: recurrent agents train one seed per process, "
                             f"got seeds {list(seeds)}")
        self.config, self.obs_dim, self.act_dim = config, obs_dim, act_dim
        self.seeds, self.members = list(seeds), len(seeds)
        self.device = resolve_device(config.device)
        # Per member: numpy for exploration noise and warm-up actions, torch for SAC's sampling
        # and TD3's target smoothing. No global random state is used.
        self.rngs = [np.random.default_rng(seed) for seed in self.seeds]
        self.generators = [torch.Generator(self.device).manual_seed(seed) for seed in self.seeds]
        self.updates = 0
        self.shared = config.spec.shared_summarizer

        self.ssl = config.spec.ssl
        self.actor, self.critic = self._networks(self.members)
        self.ssl_heads = self._ssl_heads(self.members) if self.ssl else None
        for i, seed in enumerate(self.seeds):  # member i starts where a single run seeded i would
            torch.manual_seed(seed)
            actor, critic = self._networks(1)
            _set_member(self.actor, actor, i)
            _set_member(self.critic, critic, i)
            if self.ssl:
                _set_member(self.ssl_heads, self._ssl_heads(1), i)
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
        self.modules = torch.nn.ModuleDict({"actor": self.actor, "critic": self.critic,
                                            "critic_target": self.critic_target})
        if self.ssl:
            self.modules["ssl_heads"] = self.ssl_heads
        self.modules.to(self.device)
        actor_parameters = self.actor.net.parameters() if self.shared else self.actor.parameters()
        critic_parameters = [*self.critic.parameters(),
                             *(self.ssl_heads.parameters() if self.ssl == "dynamics" else ())]
        self.optimizers = {"actor": self._adam(actor_parameters),
                           "critic": self._adam(critic_parameters)}
        if self.ssl == "pad":  # PAD's own optimizers for its branch, the shared layers in both
            self.optimizers["ssl"] = self._adam(self._ssl_parameters())
        self._adapt_optimizer = None  # made by the first adapt()

    def _networks(self, members):
        """Fresh (actor, critics) for ``members`` members."""
        config, obs_dim = self.config, self.obs_dim

        def encoder():
            if config.spec.ssl:
                return MLPEncoder(obs_dim, config.feature_dim, list(config.encoder_hidden),
                                  members)
            if not config.recurrent:
                return Identity(obs_dim)
            return Summarizer(obs_dim, config.summary_size, config.summary_layers, config.cell)

        n_critics = config.spec.critics
        critic_encoders = [encoder()] if self.shared or not config.recurrent else \
            [encoder() for _ in range(n_critics)]
        critic = Critics(critic_encoders, self.act_dim, list(config.hidden), n_critics, members)
        actor_encoder = critic_encoders[0] if self.shared else encoder()
        actor = Actor(actor_encoder, self.act_dim, list(config.hidden), self.stochastic, members)
        return actor, critic

    def _ssl_heads(self, members):
        """The self-supervised heads: inverse dynamics (f(s), f(s')) -> a, on PAD's branch
        (its own last encoder layer, ``encoder_head``) or on the critic's features with forward
        dynamics (f(s), a) -> f(s') beside it (``td3_ssl``)."""
        config, features = self.config, self.config.feature_dim
        heads = {"inverse_model": EnsembleMLP([2 * features, *config.ssl_hidden, self.act_dim],
                                              (members,))}
        if self.ssl == "pad":
            heads["encoder_head"] = EnsembleMLP([config.encoder_hidden[-1], features], (members,))
        else:
            heads["forward_model"] = EnsembleMLP([features + self.act_dim, *config.ssl_hidden,
                                                  features], (members,))
        return torch.nn.ModuleDict(heads)

    def _ssl_parameters(self) -> list:
        """What the self-supervised loss trains in PAD's branch and what adapts at test time:
        the shared layers and the branch (PAD), or the whole encoder and the heads."""
        encoder = self.critic.encoders[0]
        shared = encoder.trunk_parameters() if self.ssl == "pad" else [*encoder.parameters()]
        return [*shared, *self.ssl_heads.parameters()]

    def _adam(self, parameters):
        return FusedAdam(parameters, lr=self.config.lr)

    def noise(self, shape):
        """Standard normal ``(members, *shape[1:])``, each member's from its own generator."""
        return torch.stack([torch.randn(shape[1:], generator=g, device=self.device)
                            for g in self.generators])

    # --- acting -----------------------------------------------------------------------------
    def initial_state(self):
        """Recurrent state at the start of an episode (None: the summarizer starts from zeros)."""
        return None

    def act(self, obs, state=None, deterministic=False):
        """Actions in [-1, 1] ``(members, act_dim)`` for each member's newest observation
        ``(members, obs_dim)``, and the next recurrent state."""
        obs = torch.as_tensor(obs, dtype=torch.float32, device=self.device).view(self.members, 1, -1)
        action, state = self._act(obs, state, deterministic)
        return action[:, 0], state

    def act_on_states(self, obs, deterministic=False):
        """Actions ``(members, n, act_dim)`` for ``n`` observations per member
        ``(members, n, obs_dim)``, each acted on alone (memoryless agents): e.g. Deep RLSP
        rolling its policy forward from many simulated states at once."""
        if self.config.recurrent:
            raise ValueError("act_on_states: a recurrent agent acts on its history; use act")
        obs = torch.as_tensor(obs, dtype=torch.float32, device=self.device)
        return self._act(obs.view(self.members, -1, obs.shape[-1]), None, deterministic)[0]

    @torch.no_grad()
    def _act(self, obs, state, deterministic):
        """Actions ``(members, n, act_dim)`` for observations ``(members, n, obs_dim)``."""
        members, n, _ = obs.shape
        features, state = self.actor.encoder(obs.view(members, n, 1, -1), state)
        action, _ = self.actor(features, deterministic, self.noise, with_log_prob=False)
        action = action.view(members, n, -1).cpu().numpy()
        if not deterministic and not self.stochastic:
            noise = [rng.normal(0.0, self.config.exploration_noise, (n, self.act_dim))
                     for rng in self.rngs]
            action = np.clip(action + np.stack(noise), -1.0, 1.0).astype(np.float32)
        return action, state

    def random_action(self):
        """Uniform actions ``(members, act_dim)`` (the warm-up before the first update), float32
        like every action: what the environment is given is exactly what the replay buffer keeps
        (a resumed episode is replayed from it)."""
        return np.stack([rng.uniform(-1.0, 1.0, self.act_dim) for rng in self.rngs]).astype(np.float32)

    def make_buffer(self, seed: int):
        """One member's replay buffer (each member samples its own batches)."""
        c = self.config
        if c.recurrent:
            return EpisodeBuffer(c.buffer_size, self.obs_dim, self.act_dim, seed, c.segment_len)
        return ReplayBuffer(c.buffer_size, self.obs_dim, self.act_dim, seed)

    # --- learning ---------------------------------------------------------------------------
    def update(self, batch) -> dict:
        """One critic step and, every ``policy_delay`` steps, an actor step and target update.
        Returns each member's losses and statistics as ``(members,)`` tensors.

        Recurrent agents compute every summary once, before the critic step, and the actor loss
        evaluates the *stepped* critic heads on the critic summaries computed before the step
        (detached). This is what Yang & Nguyen's code does (``recurrent_sac.py``,
        ``update_networks``); recomputing the summaries would cost another pass of every
        summarizer. For memoryless agents the encoder is the identity and the question does not
        arise.
        """
        batch = {key: None if value is None else value.to(self.device, non_blocking=True)
                 for key, value in batch.items()}  # a no-op when the batch is already there
        obs, actions, mask = batch["obs"], batch["actions"], batch["mask"]
        critic_features = self.critic.encode(obs)  # (members, n, B, L+1, F): steps 0..L
        actor_features = (critic_features[:, 0].detach() if self.shared
                          else self.actor.encoder(obs)[0])  # (members, B, L+1, F)
        target = self.td_target(batch, actor_features[:, :, 1:].detach())
        q = self.critic(critic_features[..., :-1, :], actions)  # (members, n, B, L)
        critic_loss = member_mean(((q - target.unsqueeze(1)) ** 2).sum(1), mask)
        info = {"critic_loss": critic_loss.detach(), "q": member_mean(q[:, 0].detach(), mask)}
        loss = critic_loss.sum()  # members' losses share no parameters
        if self.ssl == "dynamics":
            ssl_loss = self.ssl_loss(critic_features[:, 0], actions)
            loss = loss + self.config.ssl_weight * ssl_loss.sum()
            info["ssl_loss"] = ssl_loss.detach()
        self._step("critic", loss)

        self.updates += 1
        if self.updates % self.policy_delay == 0:
            with frozen(self.optimizers["critic"].parameters):
                info |= self.improve_actor(actor_features[:, :, :-1],
                                           critic_features[..., :-1, :].detach(), mask)
            self.update_targets()
        if self.ssl == "pad" and self.updates % self.config.ssl_update_every == 0:
            ssl_loss = self.ssl_loss(self.ssl_features(obs), actions)
            self._step("ssl", ssl_loss.sum())
            info["ssl_loss"] = ssl_loss.detach()
        return info

    def ssl_features(self, obs):
        """The features the self-supervised heads see, ``(members, B, T, F)`` for observations
        ``(members, B, T, obs_dim)``: PAD's branch on the shared layers, or the critic's."""
        encoder = self.critic.encoders[0]
        if self.ssl != "pad":
            return encoder(obs)[0]
        members, batch, time, _ = obs.shape
        hidden = encoder.trunk(obs.reshape(members, batch * time, -1))
        return squash_features(self.ssl_heads["encoder_head"](hidden)).view(
            members, batch, time, -1)

    def ssl_loss(self, features, actions):
        """Each member's self-supervised loss on transitions ``(s, s')``: features
        ``(members, B, 2, F)``, actions ``(members, B, 1, act_dim)``. The inverse head predicts
        the action from both features (PAD: linear; ``td3_ssl``: squashed into the action box),
        ``td3_ssl``'s forward head f(s') (held fixed: it is the target) from f(s) and the
        action; mean squared errors, summed."""
        now, later = features[:, :, 0], features[:, :, 1]
        actions = actions[:, :, 0]
        inverse = self.ssl_heads["inverse_model"](torch.cat([now, later], -1))
        if self.ssl == "pad":
            return ((inverse - actions) ** 2).mean((1, 2))
        forward = self.ssl_heads["forward_model"](torch.cat([now, actions], -1))
        return (((torch.tanh(inverse) - actions) ** 2).mean((1, 2))
                + ((forward - later.detach()) ** 2).mean((1, 2)))

    def adapt(self, obs, actions, next_obs) -> torch.Tensor:
        """One step of test-time adaptation: the self-supervised loss alone, on transitions
        ``(members, B, dim)`` of the environment at hand, no reward needed, steps what
        ``_ssl_parameters`` names (PAD: the layers shared with the policy and the branch, never
        the actor's or the critics' heads). Returns each member's loss before the step."""
        if not self.ssl:
            raise ValueError(f"adapt: {self.config.algorithm} has no self-supervised encoder; "
                             f"expected td3_pad or td3_ssl")
        if self._adapt_optimizer is None:
            self._adapt_optimizer = FusedAdam(self._ssl_parameters(), lr=self.config.adapt_lr)
        as_tensor = lambda x: torch.as_tensor(x, dtype=torch.float32, device=self.device)  # noqa: E731
        obs = torch.stack([as_tensor(obs), as_tensor(next_obs)], dim=2)  # (members, B, 2, dim)
        loss = self.ssl_loss(self.ssl_features(obs), as_tensor(actions)[:, :, None])
        self._adapt_optimizer.zero_grad()
        loss.sum().backward()
        self._adapt_optimizer.step()
        return loss.detach()

    @torch.no_grad()
    def td_target(self, batch, next_actor_features):
        """r + γ V(s'), without bootstrapping where s' is terminal (a time limit bootstraps)."""
        next_value = self.next_value(batch["obs"], next_actor_features)
        return batch["rewards"] + self.config.gamma * (1 - batch["terminated"]) * next_value

    policy_delay = 1

    def next_value(self, obs, next_actor_features):
        """V(s') under the target networks, ``(members, B, L)``."""
        raise NotImplementedError

    def improve_actor(self, actor_features, critic_features, mask) -> dict:
        raise NotImplementedError

    def _step(self, name, loss):
        optimizer = self.optimizers[name]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    def _target_pairs(self):
        return [(self.critic_target, self.critic)]

    @functools.cached_property
    def _target_parameters(self):
        """The parameters of every target network and of its online twin, in the same order
        (listed once: walking the modules costs ~5% of a small update)."""
        pairs = self._target_pairs()
        return ([p for target, _ in pairs for p in target.parameters()],
                [p for _, online in pairs for p in online.parameters()])

    @torch.no_grad()
    def update_targets(self):
        torch._foreach_lerp_(*self._target_parameters, 1.0 - self.config.polyak)

    # --- checkpoints --------------------------------------------------------------------------
    def state_dict(self):
        """Everything an update and an action depend on (weights, optimizers, random streams)."""
        return {"modules": self.modules.state_dict(), "updates": self.updates,
                "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
                "rngs": [rng.bit_generator.state for rng in self.rngs],
                "generators": [g.get_state() for g in self.generators]}

    def load_state_dict(self, state):
        self.modules.load_state_dict(state["modules"])
        for k, o in self.optimizers.items():
            o.load_state_dict(state["optimizers"][k])
        self.updates = state["updates"]
        for rng, rng_state in zip(self.rngs, state["rngs"], strict=True):
            rng.bit_generator.state = rng_state
        for g, g_state in zip(self.generators, state["generators"], strict=True):
            g.set_state(g_state)

    def member_state_dict(self, i: int):
        """Member ``i`` alone, as the state of a one-member agent (its own checkpoint)."""
        state = self.state_dict()
        return {**_member_slice(state, i, self.members), "rngs": [state["rngs"][i]],
                "generators": [state["generators"][i]]}

    def load_member_state_dicts(self, states: list[dict]):
        """The inverse of ``member_state_dict`` over every member."""
        if len(states) != self.members:
            raise ValueError(f"expected {self.members} member states, got {len(states)}")
        state = concat_members(states) if self.members > 1 else dict(states[0])
        state["rngs"] = [s["rngs"][0] for s in states]
        state["generators"] = [s["generators"][0] for s in states]
        self.load_state_dict(state)


@torch.no_grad()
def _set_member(stacked: torch.nn.Module, single: torch.nn.Module, i: int):
    """Copy a one-member module's parameters into member ``i`` of ``stacked``, whose leading
    axis holds the members one after the other (``EnsembleLinear``). Parameters of equal shape
    have a single member (a recurrent summarizer's, which has no member axis)."""
    for p, q in zip(stacked.parameters(), single.parameters(), strict=True):
        if p.shape == q.shape:
            p.copy_(q)
        else:
            rows = q.shape[0]
            p[i * rows:(i + 1) * rows].copy_(q)


def _member_slice(tree, i: int, members: int):
    """Member ``i``'s part of a state tree: the ``i``-th of ``members`` equal parts of each
    tensor's leading axis. With one member the tree is that member's; otherwise every agent
    tensor of rank >= 1 holds the members one after the other along its leading axis (memoryless
    agents only; Adam's step counters are scalars)."""
    if members == 1:
        return tree
    if isinstance(tree, torch.Tensor):
        return tree.chunk(members)[i].clone() if tree.dim() > 0 else tree.clone()
    if isinstance(tree, dict):
        return {k: _member_slice(v, i, members) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_member_slice(v, i, members) for v in tree]
    return tree


def concat_members(trees: list):
    """The inverse of ``_member_slice``: members' trees joined along the member axis."""
    first = trees[0]
    if isinstance(first, torch.Tensor):
        return torch.cat(trees) if first.dim() > 0 else first
    if isinstance(first, dict):
        return {k: concat_members([t[k] for t in trees]) for k in first}
    if isinstance(first, list):
        return [concat_members(list(items)) for items in zip(*trees)]
    return first


class SAC(Agent):
    """Soft actor-critic with twin critics and automatic entropy tuning; also RSAC, RSAC-s, and
    with a learned ``prior`` (``sac_prior``) the KL-regularised SAC of SPiRL's high level.

    The temperature weighs a *regulariser*: ``log pi(a|s)`` (minus the entropy), tuned towards
    ``|A|`` (an entropy of ``-|A|``); or ``prior(s, mean, log_std)``, the divergence of the
    policy's Gaussian before the tanh from the learned prior (SPiRL's, see ``SkillSpace``),
    tuned towards ``target_divergence``.
    """

    stochastic = True

    def __init__(self, obs_dim, act_dim, config, seeds=(0,), prior=None):
        super().__init__(obs_dim, act_dim, config, seeds)
        self.log_alpha = torch.full((self.members,), math.log(config.init_alpha),
                                    device=self.device, requires_grad=config.tune_alpha)
        self.prior = prior  # KL of the policy's Gaussian to the prior, (obs, mean, log_std) -> (...)
        self.target_regulariser = (config.target_divergence if config.spec.prior
                                   else float(act_dim))
        # The temperature steps with the actor: one backward pass and one Adam step for both
        # (their losses share no parameters, so this equals two separate steps).
        if config.tune_alpha:
            self.optimizers["actor"].add_parameters([self.log_alpha])

    def _alpha(self):
        """Each member's temperature, shaped to scale ``(members, B, L)``."""
        return self.log_alpha.exp().view(-1, 1, 1)

    def _regulariser(self, features, log_prob):
        """What the temperature weighs (see the class docstring), ``(members, B, L)``; the
        features of a memoryless agent are its observations."""
        if not self.config.spec.prior:
            return log_prob
        if self.prior is None:
            raise ValueError(f"{self.config.algorithm}: training needs the learned prior "
                             f"(make_agent(..., prior=...))")
        return self.prior(features, *self.actor.gaussian(features))

    def next_value(self, obs, next_actor_features):
        next_actions, log_prob = self.actor(next_actor_features, noise=self.noise)
        target_features = self.critic_target.encode(obs)[..., 1:, :]
        q = self.critic_target(target_features, next_actions).min(1).values
        return q - self._alpha() * self._regulariser(next_actor_features, log_prob)

    def improve_actor(self, actor_features, critic_features, mask):
        actions, log_prob = self.actor(actor_features, noise=self.noise)
        q = self.critic(critic_features, actions).min(1).values
        alpha = self._alpha().detach()
        regulariser = self._regulariser(actor_features, log_prob)
        actor_loss = member_mean(alpha * regulariser - q, mask)
        loss = actor_loss.sum()
        if self.config.tune_alpha:
            loss = loss - member_mean(self.log_alpha.view(-1, 1, 1)
                                      * (regulariser.detach() - self.target_regulariser),
                                      mask).sum()
        self._step("actor", loss)
        info = {"actor_loss": actor_loss.detach(), "alpha": alpha.view(-1),
                "entropy": -member_mean(log_prob.detach(), mask)}
        if self.config.spec.prior:
            info["divergence"] = member_mean(regulariser.detach(), mask)
        return info

    def state_dict(self):
        return super().state_dict() | {"log_alpha": self.log_alpha.detach().clone()}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        with torch.no_grad():
            self.log_alpha.copy_(state["log_alpha"])


class TD3(Agent):
    """TD3 (twin critics, target smoothing, delayed actor); with one critic and neither trick it
    is DDPG. Also their recurrent versions RTD3 and RDPG."""

    stochastic = False

    def __init__(self, obs_dim, act_dim, config, seeds=(0,)):
        super().__init__(obs_dim, act_dim, config, seeds)
        self.is_td3 = config.family == "td3"
        self.policy_delay = config.policy_delay if self.is_td3 else 1
        self.actor_target = copy.deepcopy(self.actor).requires_grad_(False)
        self.modules["actor_target"] = self.actor_target

    def next_value(self, obs, next_actor_features):
        features = self.actor_target.encoder(obs)[0][:, :, 1:]
        next_actions, _ = self.actor_target(features)
        if self.is_td3:
            noise = (self.noise(next_actions.shape) * self.config.target_noise).clamp(
                -self.config.noise_clip, self.config.noise_clip)
            next_actions = (next_actions + noise).clamp(-1.0, 1.0)
        target_features = self.critic_target.encode(obs)[..., 1:, :]
        return self.critic_target(target_features, next_actions).min(1).values

    def improve_actor(self, actor_features, critic_features, mask):
        actions, _ = self.actor(actor_features)
        actor_loss = -member_mean(self.critic(critic_features, actions, first=1)[:, 0], mask)
        self._step("actor", actor_loss.sum())
        return {"actor_loss": actor_loss.detach()}

    def _target_pairs(self):
        return [(self.critic_target, self.critic), (self.actor_target, self.actor)]


def make_agent(obs_dim: int, act_dim: int, config: AgentConfig, seed: int = 0, *,
               seeds: Sequence[int] | None = None, prior=None) -> Agent:
    """The agent ``config.algorithm`` names: one run seeded ``seed``, or one member per seed of
    ``seeds`` trained together. ``sac_prior`` trains with ``prior(obs, mean, log_std)``, the
    divergence of its Gaussian before the tanh from a learned prior (it acts without one)."""
    seeds = [seed] if seeds is None else list(seeds)
    if config.family == "sac":
        return SAC(obs_dim, act_dim, config, seeds, prior=prior)
    return TD3(obs_dim, act_dim, config, seeds)


def config_from_dict(values: dict) -> AgentConfig:
    """An AgentConfig from a plain mapping (lists become tuples); unknown keys are an error."""
    names = {f.name for f in dataclasses.fields(AgentConfig)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ValueError(f"unknown agent parameters {unknown}; expected some of {sorted(names)}")
    return AgentConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})
