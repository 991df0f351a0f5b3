"""Discriminator rejection sampling for a trained run: which seeds to keep.

A fresh real-vs-generated classifier (`rejection.image_classifier`) is fitted on the run's
prepared training images and its frozen generator, then candidate seeds SEED, SEED+1, ... are
kept with probability exp(logit - M). The result is a list of seeds, so every kept image can be
made again with a plain `generate --seed S --n 1`. The run's own discriminator is not used: a
packed or minibatch-std critic scores groups, not images, and VAEs have none.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from .errors import ConfigError
from .rejection import fit_ratio_classifier, image_classifier, rejection_sample

CLASSIFIER_WIDTH = 32   # enough for 32-128 px; a few minutes of fitting on a laptop CPU


@dataclass
class KeptSeeds:
    seeds: list[int]      # kept seeds, in the order they were drawn (ascending)
    drawn: int            # candidate seeds scored
    real_images: int      # training images the classifier saw

    @property
    def acceptance(self) -> float:
        return len(self.seeds) / max(1, self.drawn)


def _real_sampler(images: np.ndarray, mirror: bool, gen: torch.Generator, device) -> Callable[[int], torch.Tensor]:
    """n random training images in [-1, 1], mirrored at random when the run trained that way."""
    def sample(n: int) -> torch.Tensor:
        idx = torch.randint(len(images), (n,), generator=gen).numpy()
        x = torch.from_numpy(images[idx]).float() / 127.5 - 1.0  # [n, C, H, W]
        if mirror:
            flip = torch.rand(n, generator=gen) < 0.5
            x[flip] = x[flip].flip(-1)
        return x.to(device)
    return sample


def keep_seeds(run, n: int, seed: int = 0, *, steps: int = 1000, batch: int = 64, quantile: float = 0.99,
               max_draws: int | None = None) -> KeptSeeds:
    """Seeds >= `seed` whose images pass rejection sampling, until `n` are kept.

    Args:
        run: a `LoadedRun` (artistry.load) of a model that samples from noise.
        steps, batch: fitting the classifier (Adam 2e-4, cosine decay).
        quantile: M is this quantile of the candidates' logits (1.0: their maximum, as in DRS);
            lower keeps more images and filters less.
        max_draws: stop after this many candidates (default 200 * n, at least 10,000) and keep
            fewer than `n` rather than run for ever.
    """
    if not run.can_sample:
        raise ConfigError(f"--rejection: {run.run_dir} is a '{run.config.model.model}' run, which does not "
                          "generate from noise")
    if steps < 1:
        raise ConfigError("--rejection-steps must be at least 1")
    c, h, w = run.model.image_shape
    if h != w or h < 4 or h & (h - 1):
        raise ConfigError(f"--rejection needs square power-of-two images; {run.run_dir} makes {h}x{w}")
    images = run.training_images()
    gen = torch.Generator().manual_seed(seed)

    def fake(k: int) -> torch.Tensor:  # fresh latents for fitting, not the candidate seeds
        with torch.no_grad():
            return run.G(run.model.sample_latents(k, "cpu", gen).to(run.device)).float()

    with torch.random.fork_rng(devices=[]):  # seeded initial weights, the caller's RNG untouched
        torch.manual_seed(seed)
        clf = image_classifier(c, h, CLASSIFIER_WIDTH).to(run.device)
    with torch.enable_grad():
        fit_ratio_classifier(_real_sampler(images, run.config.data.mirror, gen, run.device), fake, clf,
                             steps=steps, batch=batch, lr=2e-4)

    next_seed = seed

    def candidates(k: int) -> torch.Tensor:  # the next k seeds, as an int64 tensor
        nonlocal next_seed
        out = torch.arange(next_seed, next_seed + k, dtype=torch.int64)
        next_seed += k
        return out

    @torch.no_grad()
    def logit(seeds: torch.Tensor) -> torch.Tensor:
        parts = []
        for i in range(0, len(seeds), batch):
            z = run.latents(seeds[i:i + batch].tolist())
            parts.append(clf(run.G(z).float()).cpu())
        return torch.cat(parts)

    pool = min(max(1000, 4 * n), 20_000)  # candidates per round; the first round sets M
    res = rejection_sample(candidates, logit, n, quantile=quantile, burn_in=pool, chunk=pool,
                           max_draws=max_draws or max(10_000, 200 * n), generator=gen)
    return KeptSeeds([int(s) for s in res.samples], res.drawn, len(images))
