"""Rejection sampling of a run's seeds: it must keep the real-looking ones and stay reproducible."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from artistry.errors import ConfigError
from artistry.rejection_run import keep_seeds

SIZE = 16


def _smooth(colour: torch.Tensor) -> torch.Tensor:
    """[N, 3] colours in [-1, 1] -> smooth colour fields with a left-to-right ramp, [N, 3, S, S]."""
    ramp = torch.linspace(0, 0.5, SIZE).view(1, 1, 1, SIZE)
    return (colour.view(-1, 3, 1, 1) * 0.5 + ramp).expand(-1, 3, SIZE, SIZE).clamp(-1, 1)


class HalfNoisyG(torch.nn.Module):
    """Latents with z[0] > 0 give smooth fields like the data; the others are buried in noise."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        clean = _smooth(torch.tanh(z[:, 1:4]))
        noise = 0.6 * torch.sin(z[:, 4:5, None, None] * torch.arange(SIZE * SIZE).view(1, 1, SIZE, SIZE) * 7.3)
        return torch.where(z[:, :1, None, None] > 0, clean, (clean + noise).clamp(-1, 1))


def _fake_run(model="dcgan", can_sample=True):
    gen = torch.Generator().manual_seed(0)
    real = ((_smooth(torch.rand(64, 3, generator=gen) * 2 - 1) + 1) * 127.5).round().to(torch.uint8).numpy()
    G = HalfNoisyG()

    def sample_latents(n, device, generator=None):
        return torch.randn(n, 8, generator=generator)

    def latents(seeds):
        return torch.cat([sample_latents(1, "cpu", torch.Generator().manual_seed(int(s))) for s in seeds])

    return SimpleNamespace(can_sample=can_sample, run_dir="runs/x", device=torch.device("cpu"), G=G,
                           config=SimpleNamespace(model=SimpleNamespace(model=model), data=SimpleNamespace(mirror=True)),
                           model=SimpleNamespace(image_shape=(3, SIZE, SIZE), sample_latents=sample_latents),
                           training_images=lambda: real, latents=latents)


def test_keep_seeds_keeps_the_real_looking_half_and_names_reproducible_seeds():
    run = _fake_run()
    kept = keep_seeds(run, 40, seed=100, steps=400, batch=32)
    assert len(kept.seeds) == 40 and kept.real_images == 64
    assert kept.seeds == sorted(set(kept.seeds)) and kept.seeds[0] >= 100
    assert kept.drawn >= 40 and kept.acceptance == pytest.approx(40 / kept.drawn)
    clean = [float(run.latents([s])[0, 0]) > 0 for s in kept.seeds]
    assert np.mean(clean) > 0.9      # half of all seeds are clean; nearly all kept ones are
    again = keep_seeds(run, 40, seed=100, steps=400, batch=32)
    assert again.seeds == kept.seeds  # same seed, same classifier, same choice


def test_keep_seeds_refuses_runs_that_cannot_sample_and_bad_steps():
    with pytest.raises(ConfigError, match="does not generate from noise"):
        keep_seeds(_fake_run("dae", can_sample=False), 4)
    with pytest.raises(ConfigError, match="--rejection-steps"):
        keep_seeds(_fake_run(), 4, steps=0)
