"""Mode-coverage metrics with the definitions of the PacGAN code base (VEEGAN's measures).

2-D mixtures (Srivastava et al. 2017; Lin et al. 2018):
  * ring: 8 Gaussians with means (cos 2*pi*k/8, sin 2*pi*k/8), sigma = 0.01;
  * grid: 25 Gaussians with means {-4, -2, 0, 2, 4}^2, sigma = 0.05.
A sample is *high quality* when its distance to the nearest mean is under 3 sigma; a mode is
*captured* when at least one high-quality sample is nearest to it. With n_k the number of
high-quality samples nearest to mode k (K modes), p_k = n_k / sum_j n_j and the reverse KL is

    KL(p || uniform) = sum_{k: p_k > 0} p_k * ln(p_k * K)       (natural log)

Stacked MNIST: each generated sample's three channels are classified as digits; the triple
(d_R, d_G, d_B) is one of 1,000 modes; p is the histogram over all classified samples and
the KL is the same formula with K = 1000. These match PacGAN's `MetricLogger` (2-D) and
`log_metrics` (Stacked MNIST).

Only numpy: the benchmark and the tests import this without building any network.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

RING_SIGMA = 0.01
GRID_SIGMA = 0.05
HQ_STDS = 3.0


def ring_means(k: int = 8, radius: float = 1.0) -> np.ndarray:
    """Means of the ring mixture, [k, 2]."""
    a = 2 * np.pi * np.arange(k) / k
    return radius * np.stack([np.cos(a), np.sin(a)], axis=1)


def grid_means(side: int = 5, spacing: float = 2.0) -> np.ndarray:
    """Means of the grid mixture, [side^2, 2]: {-4, -2, 0, 2, 4}^2 for the defaults."""
    c = (np.arange(side) - (side - 1) / 2) * spacing
    return np.stack(np.meshgrid(c, c, indexing="ij"), axis=-1).reshape(-1, 2)


MIXTURES = {"ring": (ring_means, RING_SIGMA), "grid": (grid_means, GRID_SIGMA)}


def mixture(name: str) -> tuple[np.ndarray, float]:
    """(means [K, 2], sigma) of a named 2-D benchmark mixture: 'ring' or 'grid'."""
    if name not in MIXTURES:
        raise ValueError(f"unknown mixture '{name}'; choose one of: {', '.join(MIXTURES)}")
    make, sigma = MIXTURES[name]
    return make(), sigma


def sample_mixture(name: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """n samples from the uniform mixture, [n, 2] float32."""
    means, sigma = mixture(name)
    k = rng.integers(0, len(means), size=n)
    return (means[k] + sigma * rng.standard_normal((n, 2))).astype(np.float32)


def reverse_kl(counts: np.ndarray) -> float:
    """KL(p || uniform) for a histogram of counts over K modes (nan when it is empty)."""
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    if total <= 0:
        return float("nan")
    p = counts[counts > 0] / total
    return float(np.sum(p * np.log(p * counts.size)))


@dataclass
class ModeScore:
    modes: int  # modes captured
    n_modes: int  # modes in the target
    high_quality: float  # fraction of samples that are high quality (0..1)
    reverse_kl: float  # KL(mode histogram of high-quality samples || uniform)
    counts: list[int]  # high-quality samples per mode

    def to_dict(self) -> dict:
        return asdict(self)


def score_2d(samples: np.ndarray, means: np.ndarray, sigma: float, hq_stds: float = HQ_STDS) -> ModeScore:
    """Score 2-D samples [N, 2] against isotropic Gaussian modes (means [K, 2], std sigma)."""
    x = np.asarray(samples, dtype=np.float64).reshape(-1, 2)
    d2 = ((x[:, None, :] - means[None, :, :]) ** 2).sum(-1)  # [N, K]
    nearest = d2.argmin(axis=1)  # [N]
    hq = np.sqrt(d2[np.arange(len(x)), nearest]) < hq_stds * sigma  # [N]
    counts = np.bincount(nearest[hq], minlength=len(means))
    return ModeScore(
        modes=int((counts > 0).sum()),
        n_modes=len(means),
        high_quality=float(hq.mean()) if len(x) else 0.0,
        reverse_kl=reverse_kl(counts),
        counts=counts.tolist(),
    )


def score_mixture(samples: np.ndarray, name: str) -> ModeScore:
    """Score samples against the named mixture ('ring' or 'grid')."""
    means, sigma = mixture(name)
    return score_2d(samples, means, sigma)


def score_stacked(digits: np.ndarray, n_classes: int = 10) -> ModeScore:
    """Score Stacked MNIST: digits [N, 3] (one predicted digit per channel) -> 1,000 modes.

    Every sample counts (there is no quality threshold): `high_quality` is 1.
    """
    d = np.asarray(digits, dtype=np.int64).reshape(-1, 3)
    mode = (d[:, 0] * n_classes + d[:, 1]) * n_classes + d[:, 2]
    counts = np.bincount(mode, minlength=n_classes**3)
    return ModeScore(
        modes=int((counts > 0).sum()),
        n_modes=n_classes**3,
        high_quality=1.0,
        reverse_kl=reverse_kl(counts),
        counts=counts.tolist(),
    )


def digit_frequencies(counts, n_classes: int = 10) -> np.ndarray:
    """Per-channel digit frequencies [3, n_classes] from a Stacked MNIST mode histogram."""
    c = np.asarray(counts, dtype=np.float64).reshape(n_classes, n_classes, n_classes)
    marginals = np.stack([c.sum(axis=(1, 2)), c.sum(axis=(0, 2)), c.sum(axis=(0, 1))])
    return marginals / max(c.sum(), 1.0)


def digit_bias_kl(counts, n_classes: int = 10) -> float:
    """The part of the Stacked MNIST reverse KL that per-digit frequencies explain.

    Against a uniform target, KL(joint) = sum over channels of KL(digit frequencies || uniform)
    + the channels' dependence, so this separates "G paints too many 0s" from "G pairs digits
    wrongly" (which also holds most of the counting noise).
    """
    f = digit_frequencies(counts, n_classes)
    return float(sum(reverse_kl(row) for row in f))


def mean_sd(values) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for one value), ignoring nan."""
    v = np.asarray([x for x in values if not (isinstance(x, float) and math.isnan(x))], dtype=np.float64)
    if v.size == 0:
        return float("nan"), float("nan")
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0
