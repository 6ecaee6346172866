"""GASP's Dirichlet-process mixture over the skill latent, behind a small interface.

GASP fits a Dirichlet-process Gaussian mixture with diagonal covariances (bnpy's memoVB with
birth/merge moves) to the posterior samples of the skill latent at scheduled epochs, each fit
warm-started from the last, and regularises the skill posterior towards the mixture. Here the
backend is scikit-learn's truncated variational ``BayesianGaussianMixture`` with a
Dirichlet-process weight prior (bnpy does not install on Python 3.11): at most
``max_components`` components, unused ones get a weight near 0. scikit-learn has no birth
moves, and a warm-started refit never revives a component it has emptied (fit to 2 clusters,
then to 5, it keeps 2: ``tests/test_skill_prior.py``), so each refit starts afresh (k-means
initialised, the same seed) with the whole truncation: the number of components can grow, or
shrink, with the latent, as bnpy's birth and merge moves allow.

After each fit the mixture is kept as plain arrays (weights, means, variances), and the
responsibilities are computed from them: ``r_k(z) ~ w_k N(z; mu_k, diag(var_k))``, the point
estimate of the posterior (scikit-learn's ``predict_proba`` also integrates over the
variational posterior of the parameters; the two agree closely once a component holds more than
a few dozen points). So a saved mixture is arrays, loadable with ``weights_only=True``.
"""
from __future__ import annotations

import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture

ACTIVE_WEIGHT = 0.01  # a component counts as found when it holds at least this share


class DPMM:
    """A Dirichlet-process Gaussian mixture on ``(N, d)`` points; ``fit`` refits it (afresh, with
    up to ``max_components`` components), ``responsibilities`` assigns points to components."""

    def __init__(self, max_components: int = 20, concentration: float = 5.0, seed: int = 0,
                 max_iter: int = 200):
        self.max_components, self.concentration, self.seed = max_components, concentration, seed
        self.max_iter = max_iter
        self.weights = self.means = self.variances = None

    @property
    def fitted(self) -> bool:
        return self.weights is not None

    def fit(self, z) -> "DPMM":
        z = np.asarray(z, dtype=np.float64)
        mixture = BayesianGaussianMixture(
            n_components=min(self.max_components, len(z)), covariance_type="diag",
            weight_concentration_prior_type="dirichlet_process",
            weight_concentration_prior=self.concentration, max_iter=self.max_iter,
            random_state=self.seed)
        with warnings.catch_warnings():  # a fit stopped at max_iter is still a mixture
            warnings.simplefilter("ignore", ConvergenceWarning)
            mixture.fit(z)
        self.weights = mixture.weights_.astype(np.float32)
        self.means = mixture.means_.astype(np.float32)
        self.variances = mixture.covariances_.astype(np.float32)
        return self

    @property
    def active(self) -> np.ndarray:
        """Indices of the components holding at least ``ACTIVE_WEIGHT`` of the weight."""
        return np.flatnonzero(self.weights >= ACTIVE_WEIGHT)

    def log_joint(self, z: torch.Tensor) -> torch.Tensor:
        """``log w_k + log N(z; mu_k, var_k)``, ``(N, K)``."""
        means, variances = (torch.as_tensor(a, device=z.device) for a in
                            (self.means, self.variances))
        log_weights = torch.as_tensor(self.weights, device=z.device).clamp_min(1e-12).log()
        squared = ((z[:, None, :] - means) ** 2 / variances).sum(-1)
        log_det = variances.log().sum(-1)
        return log_weights - 0.5 * (squared + log_det + z.shape[1] * np.log(2 * np.pi))

    def responsibilities(self, z) -> torch.Tensor:
        """Each point's posterior over the components, ``(N, K)`` (a tensor like ``z``)."""
        if not self.fitted:
            raise RuntimeError("responsibilities: the DPMM has not been fitted yet")
        return torch.softmax(self.log_joint(torch.as_tensor(z, dtype=torch.float32)), dim=1)

    def assign(self, z) -> np.ndarray:
        """The most responsible component of each point."""
        return self.responsibilities(z).argmax(1).cpu().numpy()

    def state_dict(self) -> dict:
        return {"weights": torch.as_tensor(self.weights), "means": torch.as_tensor(self.means),
                "variances": torch.as_tensor(self.variances)}

    def load_state_dict(self, state: dict) -> "DPMM":
        self.weights, self.means, self.variances = (state[k].numpy() for k in
                                                    ("weights", "means", "variances"))
        return self
