"""What Deep RLSP's three learned models (state VAE, inverse dynamics, inverse policy) share:
seeded initialisation, input normalisation statistics and the mini-batch training loop."""
from __future__ import annotations

import contextlib

import torch
from torch import nn
from tqdm.auto import tqdm


@contextlib.contextmanager
def seeded(seed: int):
    """Layers built inside draw their initial weights from ``seed``, and the caller's global
    random state is left as it was (the same seed always gives the same network)."""
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(seed)
        yield


def device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def as_tensor(x, device) -> torch.Tensor:
    """A float32 tensor on ``device`` from a numpy array or a tensor."""
    return torch.as_tensor(x, dtype=torch.float32, device=device)


def mean_std(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-column mean and (population) standard deviation of ``x (N, d)``. As in the original's
    normaliser, a column whose variance is below 1e-8 gets std 1, so constant coordinates (a
    fixed joint, padding) are not divided by zero."""
    variance = x.var(dim=0, correction=0)
    return x.mean(dim=0), torch.where(variance < 1e-8, 1.0, variance).sqrt()


def train(loss, parameters, n: int, *, lr: float, epochs: int, batch_size: int,
          generator: torch.Generator, desc: str, progress: bool = False) -> list[float]:
    """Adam on ``loss(indices)`` over ``epochs`` passes through ``n`` rows in shuffled
    mini-batches; the last incomplete batch of each pass is left out, as in the original
    (``n // batch_size`` steps per epoch). Returns the loss of every step."""
    if n < batch_size:
        raise ValueError(f"{desc}: batch_size {batch_size} exceeds the {n} training rows")
    optimizer = torch.optim.Adam(parameters, lr=lr)
    steps = n // batch_size
    history = []
    for _ in tqdm(range(epochs), desc=desc, unit="epoch", disable=not progress):
        order = torch.randperm(n, generator=generator, device=generator.device)
        for batch in order[:steps * batch_size].view(steps, batch_size):
            value = loss(batch)
            optimizer.zero_grad()
            value.backward()
            optimizer.step()
            history.append(value.detach())
    return torch.stack(history).tolist()
