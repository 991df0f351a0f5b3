"""Discriminator rejection sampling on distributions whose density ratio is known."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from artistry.rejection import fit_ratio_classifier, rejection_sample, stream_sampler


def _normal(mean: float, std: float, gen: torch.Generator):
    return lambda n: mean + std * torch.randn(n, 1, generator=gen)


def test_rejection_with_the_exact_ratio_turns_the_proposal_into_the_target():
    # proposal N(0, 2^2), target N(0, 1): log ratio = log 2 - x^2 / 2 + x^2 / 8 (up to a constant)
    gen = torch.Generator().manual_seed(0)
    logit = lambda x: -(x[:, 0] ** 2) * (0.5 - 0.125)  # noqa: E731
    res = rejection_sample(_normal(0.0, 2.0, gen), logit, 20_000, quantile=1.0, burn_in=10_000, generator=gen)
    assert res.samples.shape == (20_000, 1)
    assert float(res.samples.std()) == pytest.approx(1.0, abs=0.03)
    assert res.acceptance == pytest.approx(0.5, abs=0.03)  # = 1 / max ratio = std_target / std_proposal


def test_a_high_quantile_threshold_accepts_more_and_stops_at_max_draws():
    gen = torch.Generator().manual_seed(1)
    logit = lambda x: -(x[:, 0] ** 2)  # noqa: E731
    strict = rejection_sample(_normal(0, 3, gen), logit, 1000, quantile=1.0, burn_in=5000, generator=gen)
    loose = rejection_sample(_normal(0, 3, gen), logit, 1000, quantile=0.5, burn_in=5000, generator=gen)
    assert loose.acceptance > strict.acceptance
    capped = rejection_sample(
        _normal(0, 3, gen),
        lambda x: torch.full((x.shape[0],), -50.0) + (x[:, 0] > 8) * 50,
        1000,
        quantile=1.0,
        burn_in=1000,
        chunk=1000,
        max_draws=5000,
        generator=gen,
    )
    assert capped.samples.shape[0] < 1000 and capped.drawn == 5000


def test_the_fitted_classifier_learns_the_log_density_ratio():
    gen = torch.Generator().manual_seed(2)
    torch.manual_seed(2)
    net = nn.Sequential(nn.Linear(1, 32), nn.Tanh(), nn.Linear(32, 1), nn.Flatten(0))
    fit_ratio_classifier(_normal(1.0, 1.0, gen), _normal(-1.0, 1.0, gen), net, steps=600, batch=256, lr=3e-2)
    # N(1,1) vs N(-1,1): log ratio = 2x exactly
    x = torch.tensor([[-1.0], [0.0], [1.0]])
    with torch.no_grad():
        assert net(x).tolist() == pytest.approx([-2.0, 0.0, 2.0], abs=0.35)
    assert not net.training


def test_stream_sampler_cuts_a_batch_stream_to_any_size():
    counter = iter(range(100))
    sample = stream_sampler(lambda: torch.tensor([[float(next(counter))] for _ in range(3)]))
    assert sample(7)[:, 0].tolist() == [0, 1, 2, 3, 4, 5, 6]
    assert sample(2)[:, 0].tolist() == [9, 10]  # a fresh batch; the rest of the last one is dropped
