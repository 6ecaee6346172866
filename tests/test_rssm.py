"""The RSSM world model: sizes, the augmentation, and on a tiny task whose dynamics are known
(a square moved by the action), that training improves the one-step prediction and that the
contrastive loss learns to rank each picture's own latent first."""
import numpy as np
import pytest
import torch

from rlrepro.models.rssm import (CONTRASTS, RSSM, ConvDecoder, ConvEncoder, RSSMConfig, as_input,
                                 color_jitter, hsv_to_rgb, random_shift, rgb_to_hsv)

SIZE = 16


def squares(sequences: int, steps: int, seed: int):
    """Pictures ``(T, B, 3, 16, 16)`` of a 4x4 square that each action ``(T, B, 2)`` in
    [-1, 1] moves by up to 3 pixels per axis; rewards: the square's closeness to the centre."""
    rng = np.random.default_rng(seed)
    position = rng.integers(0, SIZE - 4, (sequences, 2))
    pictures = np.zeros((steps, sequences, 3, SIZE, SIZE), dtype=np.float32)
    actions = rng.uniform(-1, 1, (steps, sequences, 2)).astype(np.float32)
    rewards = np.zeros((steps, sequences), dtype=np.float32)
    for t in range(steps):
        if t:
            position = np.clip(position + np.round(3 * actions[t]).astype(int), 0, SIZE - 4)
        for b, (row, col) in enumerate(position):
            pictures[t, b, :, row:row + 4, col:col + 4] = 255.0
        rewards[t] = -np.abs(position - (SIZE - 4) / 2).sum(1) / SIZE
    return torch.tensor(pictures), torch.tensor(actions), torch.tensor(rewards)


def tiny(representation: str, contrast: str = "embedding", shift: int = 0,
         color_jitter: bool = False) -> RSSM:
    torch.manual_seed(0)
    return RSSM(RSSMConfig(image_size=SIZE, action_dim=2, stoch=8, deter=32, hidden=32, depth=8,
                           free_nats=0.5, representation=representation, contrast=contrast,
                           shift=shift, color_jitter=color_jitter))


def train(model, steps=150):
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    for step in range(steps):
        loss, _ = model.loss(*squares(16, 8, seed=step))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


@torch.no_grad()
def one_step_error(model) -> float:
    """Squared error of the picture predicted one step ahead by the prior (no picture seen)."""
    pictures, actions, _ = squares(32, 6, seed=10_000)
    posteriors, _ = model.observe(model.encoder(as_input(pictures[:-1])), actions[:-1])
    last = {k: v[-1] for k, v in posteriors.items()}
    predicted = model.imagine_step(last, actions[-1])
    predicted["stoch"] = predicted["mean"]
    decoded = model.decoder(model.feature(predicted))
    return float(((decoded - as_input(pictures[-1])) ** 2).sum((-3, -2, -1)).mean())


def test_encoder_and_decoder_mirror_each_other_at_every_size():
    for size in (8, 16, 64):
        encoder, decoder = ConvEncoder(size, 4), ConvDecoder(10, size, 4)
        assert encoder(torch.zeros(2, 5, 3, size, size)).shape == (2, 5, encoder.embed_dim)
        assert decoder(torch.zeros(2, 5, 10)).shape == (2, 5, 3, size, size)
    with pytest.raises(ValueError, match="image_size: expected a power of two >= 8, got 48"):
        RSSMConfig(image_size=48)


def test_random_shift_crops_the_padded_picture():
    pictures = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).reshape(2, 3, 8, 8)
    assert torch.equal(random_shift(pictures, 0), pictures)
    shifted = random_shift(pictures, 2, torch.Generator().manual_seed(0))
    padded = torch.nn.functional.pad(pictures, (2,) * 4, mode="replicate")
    for i in range(2):
        crops = [padded[i, :, r:r + 8, c:c + 8] for r in range(5) for c in range(5)]
        assert any(torch.equal(shifted[i], crop) for crop in crops)


def test_hsv_matches_colorsys_and_the_colour_jitter_stays_in_kornias_ranges():
    import colorsys

    rgb = torch.rand(6, 3, 4, 4, generator=torch.Generator().manual_seed(0))
    hsv = rgb_to_hsv(rgb)
    for i, (r, c) in enumerate([(0, 0), (1, 2), (3, 3)]):
        expected = colorsys.rgb_to_hsv(*rgb[i, :, r, c].tolist())
        np.testing.assert_allclose(hsv[i, :, r, c].numpy(), expected, atol=1e-5)
    torch.testing.assert_close(hsv_to_rgb(hsv), rgb, atol=1e-5, rtol=0)
    jittered = color_jitter(rgb, torch.Generator().manual_seed(1))
    assert jittered.min() >= 0 and jittered.max() <= 1 and not torch.allclose(jittered, rgb)
    grey = torch.full((200, 3, 1, 1), 0.5)  # no hue or saturation: brightness and contrast only
    values = color_jitter(grey, torch.Generator().manual_seed(2))[:, 0, 0, 0]
    # (0.5 + b) * c or 0.5 * c + b, b in [-0.2, 0.2], c in [0.7, 1.3]
    assert 0.21 <= values.min() < 0.3 and 0.7 < values.max() <= 0.91


@pytest.mark.parametrize("jitter", [True, False])
def test_the_contrastive_views_are_jittered_as_the_thesis_crop_jitter(jitter):
    model = tiny("contrastive", "augmented_embedding", shift=0, color_jitter=jitter)
    inputs = as_input(squares(1, 3, seed=1)[0][0])
    views = model.augment(inputs, torch.Generator().manual_seed(0))
    assert torch.equal(views, inputs) != jitter


def test_training_improves_the_one_step_prediction():
    model = tiny("reconstruction")
    before = one_step_error(model)
    train(model)
    after = one_step_error(model)
    assert after < 0.5 * before, (before, after)


@pytest.mark.parametrize("contrast", CONTRASTS)
def test_the_contrastive_loss_learns_to_rank_each_pictures_own_latent_first(contrast):
    model = tiny("contrastive", contrast, shift=0 if contrast == "embedding" else 2)
    pictures, actions, rewards = squares(8, 6, seed=20_000)

    @torch.no_grad()
    def top1():
        embeds = model.encoder(as_input(pictures))
        posteriors, _ = model.observe(embeds, actions)
        posteriors["stoch"] = posteriors["mean"]
        features = model.feature(posteriors).flatten(0, 1)
        keys = features if contrast == "augmented_latent" else embeds.flatten(0, 1)
        logits = model.similarities(features, keys)
        # the same picture may recur (a square against a wall): count a tie with it as a hit
        same = (pictures.flatten(0, 1)[:, None] == pictures.flatten(0, 1)[None]).flatten(2).all(2)
        best = logits.argmax(1)
        return float(same[torch.arange(len(best)), best].float().mean())

    before = top1()  # chance: 1 in 48
    train(model, steps=300)
    after = top1()
    # trained on shifted views, the augmented variants rank the unshifted pictures less sharply
    assert after > max(0.3 if contrast == "embedding" else 0.12, 5 * before), (before, after)


def test_augmented_contrasts_see_shifted_views_and_stop_the_gradient_of_their_target():
    pictures, actions, rewards = squares(4, 5, seed=30_000)
    losses = {}
    for contrast in CONTRASTS:
        model = tiny("contrastive", contrast, shift=2)
        loss, _ = model.loss(pictures, actions, rewards, torch.Generator().manual_seed(0))
        loss.backward()
        assert all(p.grad is not None for p in (model.query[0].weight, model.key[0].weight,
                                                 model.encoder.net[0].weight))
        losses[contrast] = loss.item()
        keys = []
        similarities = model.similarities
        model.similarities = lambda features, embeds: (keys.append(embeds),
                                                       similarities(features, embeds))[1]
        model.loss(pictures, actions, rewards, torch.Generator().manual_seed(0))
        # the target of augmented_latent is a constant; the embeddings are trained through it
        assert keys[0].requires_grad == (contrast != "augmented_latent"), contrast
    # the same weights (seed 0) see other pictures: the latent's views differ from 'embedding'
    assert losses["augmented_embedding"] != losses["embedding"]
    target = tiny("contrastive", "augmented_latent", shift=2)
    assert target.key[0].in_features == target.config.feature_dim
    with pytest.raises(ValueError, match="contrast: expected one of"):
        RSSMConfig(contrast="views")


def test_the_kl_runs_from_the_prior_to_the_posterior_and_free_nats_clamp_each_sample(monkeypatch):
    """The thesis: KL(p || q), clamped at the free nats sample by sample, then averaged. With
    prior N(0, 2^2) and posterior N(0, 1): KL(p || q) = log(1/2) + 4/2 - 1/2 = 0.807, while
    KL(q || p) = log 2 + 1/8 - 1/2 = 0.318."""
    from rlrepro.models import rssm

    posterior = {"mean": torch.zeros(1, 1, 1), "std": torch.ones(1, 1, 1)}
    prior = {"mean": torch.zeros(1, 1, 1), "std": torch.full((1, 1, 1), 2.0)}
    kl = rssm.kl_per_sample(posterior, prior)
    assert kl.shape == (1, 1) and float(kl) == pytest.approx(np.log(0.5) + 1.5)
    model = tiny("reconstruction")  # free nats 0.5
    pictures, actions, rewards = squares(2, 3, seed=7)
    known = torch.tensor([[0.1, 2.0]]).expand(3, 2)  # per sample: mean(0.5, 2.0) = 1.25
    monkeypatch.setattr(rssm, "kl_per_sample", lambda posteriors, priors: known)
    total, parts = model.loss(pictures, actions, rewards)
    # a clamp of the batch mean would give max(0.5, 1.05) = 1.05
    assert float(total) - parts["representation"] - parts["reward"] == pytest.approx(1.25, abs=1e-4)
    assert parts["kl"] == pytest.approx(1.05)


def test_the_reward_and_picture_terms_are_unit_variance_gaussian_log_likelihoods(monkeypatch):
    """-log N(x; mu, 1) = 0.5 (x - mu)^2 + const: a zero prediction of rewards r costs
    0.5 mean(r^2), a zero picture 0.5 times its squared pixels summed."""
    model = tiny("reconstruction")
    pictures, actions, rewards = squares(2, 3, seed=8)
    rewards = torch.linspace(-1, 1, rewards.numel()).view_as(rewards)

    class Zeros(torch.nn.Module):  # a prediction of 0 whatever the latent feature
        def __init__(self, *shape):
            super().__init__()
            self.shape = shape

        def forward(self, features):
            return torch.zeros(*features.shape[:-1], *self.shape)

    monkeypatch.setattr(model, "reward_head", Zeros(1))
    monkeypatch.setattr(model, "decoder", Zeros(3, SIZE, SIZE))
    _, parts = model.loss(pictures, actions, rewards)
    assert parts["reward"] == pytest.approx(0.5 * float((rewards ** 2).mean()), rel=1e-5)
    squared = (as_input(pictures) ** 2).sum((-3, -2, -1)).mean()
    assert parts["representation"] == pytest.approx(0.5 * float(squared), rel=1e-5)
