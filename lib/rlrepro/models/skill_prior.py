"""SPiRL's closed-loop skill model, and GASP's variant regularised towards a DPMM.

A *skill* is a latent code ``z`` for ``H`` consecutive actions (Pertsch et al. 2020, "Accelerating
Reinforcement Learning with Learned Skill Priors", closed-loop variant):

- encoder ``q(z | s_0..H-1, a_0..H-1)``: each step's (action, state) through a linear layer, an
  LSTM, and an MLP on its last output to the mean and log-std of ``z``;
- closed-loop decoder ``a_t = D(s_t, z)``: the skill reacts to the states it meets;
- learned prior ``p(z | o_0)``: a diagonal Gaussian over the skill to run from the first
  observation (log-std clamped to [-10, 2]). The high-level policy is regularised towards it.

Loss (means over batch and elements): action reconstruction (unit-variance Gaussian NLL) +
``kl_weight * KL(q || N(0, I))`` + ``KL(stop_grad(q) || p(z | o_0))``.

GASP (``regulariser="dpmm"``) replaces ``N(0, I)`` in the second term by a Dirichlet-process
mixture fit to the posterior samples at scheduled epochs (``skills.dpmm``):
``sum_k r_k(z) KL(q || N(mu_k, var_k))`` with the responsibilities ``r_k`` held constant; before
its first fit the Gaussian term is used.

The encoder and decoder see the first ``state_dim`` coordinates of an observation (the maze's
position and velocity, SPiRL's 4-D state); the prior sees all but the first ``prior_skip`` of
them (the maze's: velocity and the local wall view, the substitute for SPiRL's image, without
the absolute position). Differences from the original: inputs are standardised by the
data's mean and std; no batch normalisation in the decoder and prior; GASP's weighted KL is a
mean over the latent dimensions like SPiRL's Gaussian term (GASP sums them, a ~10x larger
effective weight), so that the two models differ only in the shape of the regulariser.
"""
from __future__ import annotations

import dataclasses
import functools
import math
import pathlib
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.distributions import Normal, kl_divergence
from tqdm.auto import tqdm

from rlrepro.models.fitting import as_tensor, device_of, mean_std, seeded
from rlrepro.models.mlp import mlp
from rlrepro.params import param

REGULARISERS = ("gaussian", "dpmm")
COORDINATES = ("box", "prior")  # what a high-level action names (SkillSpace)
LOG_STD_RANGE = (-10.0, 2.0)  # the prior's log-std clamp (SPiRL)
SKILL_RANGE = 2.0  # a high-level action a in [-1, 1]^d spans 2 units (box: z = 2 a, SPiRL: the
                   # prior is close to N(0, I), so [-2, 2] holds nearly all of it) or 2 of the
                   # prior's standard deviations (prior)


@dataclass(frozen=True)
class SkillModelConfig:
    """Sizes and training of the skill model; the defaults are SPiRL's maze settings."""

    horizon: int = param("H, actions per skill (SPiRL: 10)", default=10, min=1)
    latent_dim: int = param("size of the skill code z (SPiRL: 10)", default=10, min=1)
    hidden_size: int = param("units of the encoder's LSTM and of every MLP layer (SPiRL: 128)",
                             default=128, min=1)
    decoder_layers: int = param("hidden layers of the closed-loop decoder (SPiRL: 5)", default=5,
                                min=1)
    prior_layers: int = param("hidden layers of the learned prior (SPiRL: 6)", default=6, min=1)
    state_dim: int = param("leading observation coordinates the encoder and decoder see (maze: "
                           "4, position and velocity; SPiRL's maze model encodes 32x32 "
                           "top-down images instead, which show the walls)", default=4, min=1)
    prior_skip: int = param("leading observation coordinates the prior does not see (maze: 2, "
                            "the absolute position, which SPiRL's image prior never sees)",
                            default=0, min=0)
    kl_weight: float = param("beta, the weight of the KL to N(0, I) or to the DPMM (SPiRL maze: "
                             "1e-2)", default=1e-2, min=0.0)
    regulariser: str = param("what q(z) is pulled towards: gaussian (SPiRL) or dpmm (GASP)",
                             default="gaussian", choices=REGULARISERS)
    lr: float = param("RAdam step size (SPiRL: 1e-3)", default=1e-3, min=1e-8, max=1.0)
    batch_size: int = param("skill windows per step (SPiRL: 128)", default=128, min=1)
    epochs: int = param("training epochs (SPiRL: until convergence; GASP's schedule: 100)",
                        default=100, min=1)
    steps_per_epoch: int = param("gradient steps per epoch", default=200, min=1)
    dpmm_components: int = param("GASP: at most this many mixture components (truncation)",
                                 default=20, min=1)
    dpmm_concentration: float = param("GASP: the Dirichlet process's concentration (gamma0 5)",
                                      default=5.0, min=1e-6)
    dpmm_points: int = param("GASP: posterior samples of the epoch the mixture is fit to "
                             "(a random subset)", default=20_000, min=10)


def fit_epochs(epochs: int) -> list[int]:
    """GASP's schedule of the epochs after which the DPMM is refit: the first epoch, then
    ``next += floor(exp(4 e / epochs))``, denser early (33 fits in 100 epochs)."""
    schedule, upcoming = [], 0
    for epoch in range(epochs):
        if epoch == upcoming:
            schedule.append(epoch)
            upcoming += math.floor(math.exp(4 * epoch / epochs))
    return schedule


class SkillModel(nn.Module):
    """Encoder, closed-loop decoder and learned prior (see the module docstring)."""

    def __init__(self, obs_dim: int, act_dim: int, cfg: SkillModelConfig = SkillModelConfig(),
                 seed: int = 0):
        super().__init__()
        self.cfg, self.act_dim = cfg, act_dim
        act = functools.partial(nn.LeakyReLU, 0.2)
        hidden, latent = cfg.hidden_size, cfg.latent_dim
        with seeded(seed):
            self.embed = nn.Linear(act_dim + cfg.state_dim, hidden)
            self.lstm = nn.LSTM(hidden, hidden, batch_first=True)
            self.encoder_head = mlp([hidden, hidden, 2 * latent], act)
            self.decoder = mlp([cfg.state_dim + latent, *[hidden] * cfg.decoder_layers, act_dim],
                               act)
            self.prior_net = mlp([obs_dim - cfg.prior_skip, *[hidden] * cfg.prior_layers,
                                  2 * latent], act)
        self.register_buffer("obs_mean", torch.zeros(obs_dim))
        self.register_buffer("obs_std", torch.ones(obs_dim))

    def _normalise(self, obs):
        return (obs - self.obs_mean) / self.obs_std

    def posterior(self, observations, actions) -> Normal:
        """``q(z | window)`` for ``observations (B, >=H, obs_dim)`` and ``actions (B, H, act)``."""
        states = self._normalise(observations[:, :actions.shape[1]])[..., :self.cfg.state_dim]
        out, _ = self.lstm(self.embed(torch.cat([actions, states], -1)))
        mean, log_std = self.encoder_head(out[:, -1]).chunk(2, -1)
        return Normal(mean, log_std.exp())

    def decode(self, observations, z) -> torch.Tensor:
        """The skill's actions at ``observations (..., obs_dim)`` for codes ``z (..., latent)``."""
        states = self._normalise(observations)[..., :self.cfg.state_dim]
        return self.decoder(torch.cat([states, z], -1))

    def prior(self, observations) -> Normal:
        """``p(z | o)``, the learned prior at the first observation of a skill."""
        seen = self._normalise(observations)[..., self.cfg.prior_skip:]
        mean, log_std = self.prior_net(seen).chunk(2, -1)
        return Normal(mean, log_std.clamp(*LOG_STD_RANGE).exp())

    @property
    def horizon(self) -> int:
        return self.cfg.horizon

    @property
    def latent_dim(self) -> int:
        return self.cfg.latent_dim

    def save(self, path) -> pathlib.Path:
        path = pathlib.Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"obs_dim": len(self.obs_mean), "act_dim": self.act_dim,
                    "config": dataclasses.asdict(self.cfg), "model": self.state_dict()}, path)
        return path

    def losses(self, observations, actions, generator: torch.Generator, dpmm=None) -> dict:
        """Each loss term of one batch of windows; ``dpmm`` (fitted) for GASP's regulariser."""
        q = self.posterior(observations, actions)
        z = q.mean + q.stddev * torch.randn(q.mean.shape, generator=generator,
                                            device=q.mean.device)
        steps = actions.shape[1]
        reconstruction = 0.5 * ((self.decode(observations[:, :steps],
                                              z[:, None].expand(-1, steps, -1)) - actions) ** 2)
        if dpmm is not None and dpmm.fitted:
            r = dpmm.responsibilities(z.detach())  # (B, K), constants
            means, variances = (torch.as_tensor(a) for a in (dpmm.means, dpmm.variances))
            kl = kl_divergence(Normal(q.mean[:, None], q.stddev[:, None]),
                               Normal(means, variances.sqrt()))  # (B, K, latent)
            regulariser = (r[..., None] * kl).sum(1).mean()
        else:
            regulariser = kl_divergence(q, Normal(torch.zeros_like(q.mean),
                                                  torch.ones_like(q.mean))).mean()
        prior = kl_divergence(Normal(q.mean.detach(), q.stddev.detach()),
                              self.prior(observations[:, 0])).mean()
        return {"reconstruction": reconstruction.mean(), "regulariser": regulariser,
                "prior": prior, "z": z.detach()}

    @torch.no_grad()
    def reconstruction_error(self, observations, actions) -> float:
        """Mean squared error of the decoded posterior-mean skill on the windows' actions."""
        device = device_of(self)
        observations, actions = as_tensor(observations, device), as_tensor(actions, device)
        z = self.posterior(observations, actions).mean
        steps = actions.shape[1]
        decoded = self.decode(observations[:, :steps], z[:, None].expand(-1, steps, -1))
        return float(((decoded - actions) ** 2).mean())


def fit(model: SkillModel, sample_windows, observations, seed: int = 0, dpmm=None,
        progress: bool = False, on_epoch=None) -> list[dict]:
    """Train ``model`` on windows drawn by ``sample_windows(batch, rng) -> (obs, actions)``
    (numpy); ``observations`` (all of the data's) set the input normalisation. With
    ``regulariser="dpmm"`` the ``dpmm`` (``skills.dpmm.DPMM``) is refit on the epoch's posterior
    samples after each epoch of :func:`fit_epochs`. Returns one record per epoch (mean losses,
    and for GASP the number of components); ``on_epoch(record)`` is called after each."""
    cfg = model.cfg
    if cfg.regulariser == "dpmm" and dpmm is None:
        raise ValueError("fit: regulariser 'dpmm' needs a DPMM to fit")
    device = device_of(model)
    model.obs_mean[:], model.obs_std[:] = mean_std(as_tensor(observations, device))
    rng = np.random.default_rng(seed)
    generator = torch.Generator(device).manual_seed(seed)
    optimizer = torch.optim.RAdam(model.parameters(), lr=cfg.lr)
    refits = set(fit_epochs(cfg.epochs)) if cfg.regulariser == "dpmm" else set()
    history = []
    for epoch in tqdm(range(cfg.epochs), desc="skill model", unit="epoch", disable=not progress):
        totals, samples = {}, []
        for _ in range(cfg.steps_per_epoch):
            obs, actions = (as_tensor(x, device) for x in sample_windows(cfg.batch_size, rng))
            terms = model.losses(obs, actions, generator, dpmm)
            samples.append(terms.pop("z"))
            loss = terms["reconstruction"] + cfg.kl_weight * terms["regulariser"] + terms["prior"]
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            for name, value in terms.items():
                totals[name] = totals.get(name, 0.0) + float(value.detach()) / cfg.steps_per_epoch
        record = {"epoch": epoch + 1, **totals}
        if epoch in refits:
            z = torch.cat(samples).cpu().numpy()
            z = z[rng.permutation(len(z))[:cfg.dpmm_points]]
            dpmm.fit(z)
            record["dpmm_components"] = len(dpmm.active)
        history.append(record)
        if on_epoch is not None:
            on_epoch(record)
    return history


class SkillSpace:
    """The skill space a high-level policy acts in: what its action ``a`` in [-1, 1]^d means at
    the skill's first observation ``o``, how the frozen decoder runs that skill, and the
    policy's divergence from the learned prior (``registry.SkillActions``, ``sac_prior``).

    ``box``: ``z = SKILL_RANGE * a``, SPiRL's action space. ``prior``: the prior's own
    coordinates, ``z = mu_p(o) + SKILL_RANGE * sigma_p(o) * a``, in which a fresh policy (``a`` a
    squashed unit Gaussian) already acts much like the prior. SPiRL starts its policy from the
    prior's weights for that; our actor has another architecture than the prior, so its skills
    are measured from the prior instead. ``divergence`` is SPiRL's KL in both.
    """

    def __init__(self, model: SkillModel, coordinates: str = "box"):
        if coordinates not in COORDINATES:
            raise ValueError(f"skill_coordinates: expected one of {list(COORDINATES)}, "
                             f"got {coordinates!r}")
        self.model, self.coordinates = model, coordinates
        self.horizon, self.latent_dim = model.horizon, model.latent_dim
        arrays = lambda t: t.detach().cpu().numpy()  # noqa: E731
        self._obs_mean, self._obs_std = arrays(model.obs_mean), arrays(model.obs_std)
        layers = list(model.decoder)  # Linear, LeakyReLU, ..., Linear
        self._decoder = [(arrays(linear.weight).T, arrays(linear.bias),
                          after.negative_slope if isinstance(after, nn.LeakyReLU) else None)
                         for linear, after in zip(layers[::2], layers[1::2] + [None])]

    @torch.no_grad()
    def skill(self, observation, action) -> np.ndarray:
        """The skill ``z`` the high-level ``action`` names at the skill's first
        ``observation``; it is run unchanged for the skill's ``horizon`` steps."""
        device = device_of(self.model)
        observation, action = as_tensor(observation, device), as_tensor(action, device)
        if self.coordinates == "box":
            return (SKILL_RANGE * action).cpu().numpy()
        prior = self.model.prior(observation)
        return (prior.mean + SKILL_RANGE * prior.stddev * action).cpu().numpy()

    def act(self, observation, skill) -> np.ndarray:
        """The low level: the task's action at ``observation`` for the skill ``z``, clipped to
        [-1, 1]. It runs once per environment step, so in NumPy (on the CPU): at one
        observation a pass through torch costs ~10x more in call overhead than in arithmetic."""
        x = np.concatenate([((observation - self._obs_mean) / self._obs_std)
                            [..., :self.model.cfg.state_dim], skill], -1)
        for weight, bias, slope in self._decoder:
            x = x @ weight + bias
            if slope is not None:
                x = np.where(x > 0, x, slope * x)
        return np.clip(x, -1.0, 1.0).astype(np.float32)

    def divergence(self, observations, mean, log_std) -> torch.Tensor:
        """SPiRL's ``KL(pi || prior)`` for a high-level policy whose action is ``tanh(u)``,
        ``u ~ N(mean, exp(log_std))`` ``(..., d)``, at ``observations (..., obs_dim)``: between
        the Gaussian of ``u`` and the prior's, summed over ``d``, in closed form (SPiRL's maze:
        a 10-sample estimate of the same KL). As SPiRL, the Gaussian before the squashing is
        compared (box: ``u`` with the prior over ``z``, the skill run being ``2 tanh(u)``); in
        prior coordinates ``u`` counts the prior's standard deviations from its mean, where the
        prior is N(0, I). No gradient reaches the (frozen) model."""
        policy = Normal(mean, log_std.exp())
        if self.coordinates == "prior":
            prior = Normal(torch.zeros_like(mean), torch.ones_like(mean))
        else:
            with torch.no_grad():
                prior = self.model.prior(observations)
        return kl_divergence(policy, prior).sum(-1)


def load(path) -> SkillModel:
    """The skill model saved in ``path`` (``SkillModel.save``), in evaluation mode."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no skill model (written by SkillModel.save)")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        model = SkillModel(saved["obs_dim"], saved["act_dim"], SkillModelConfig(**saved["config"]))
        model.load_state_dict(saved["model"])
    except Exception as error:
        raise ValueError(f"{path}: not a skill model ({type(error).__name__}: {error})") from None
    return model.eval().requires_grad_(False)


def load_space(path, coordinates: str = "box") -> SkillSpace:
    """The skill space of the skill model saved in ``path`` (``SkillSpace``)."""
    return SkillSpace(load(path), coordinates)
