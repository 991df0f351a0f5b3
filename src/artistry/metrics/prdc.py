"""Precision / recall (Kynkäänniemi et al. 2019, k = 3) and density / coverage (Naeem et al. 2020, k = 5).

All four estimate each set's manifold as the union of balls around its points, with the radius
of a ball the distance to the point's k-th nearest neighbour in the same set:

- precision: share of generated samples inside the real manifold (fidelity),
- recall: share of real samples inside the generated manifold (diversity),
- density: how many real balls contain a generated sample, on average, divided by k (can exceed 1),
- coverage: share of real samples whose ball contains at least one generated sample.

The papers used VGG16 features for precision/recall; we use the same Inception pool3 features
as FID, so values are comparable within this project, not to the papers' tables.
"""

from __future__ import annotations

import numpy as np

PR_K = 3
DC_K = 5


def pairwise_distances(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Euclidean distances between rows of x [N, D] and y [M, D] -> [N, M] (float64)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    squared = (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2 * x @ y.T
    return np.sqrt(np.clip(squared, 0, None))  # clip: rounding can make a zero distance negative


def knn_radii(x: np.ndarray, k: int) -> np.ndarray:
    """Distance from each row of x [N, D] to its k-th nearest other row -> [N]."""
    return _kth_other(pairwise_distances(x, x), k)


def _kth_other(self_distances: np.ndarray, k: int) -> np.ndarray:
    d = self_distances.copy()
    np.fill_diagonal(d, np.inf)  # a point is not its own neighbour
    return np.partition(d, k - 1, axis=1)[:, k - 1]


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = PR_K) -> tuple[float, float]:
    """Improved precision and recall (features [N, D] and [M, D], both with more than k rows)."""
    d = pairwise_distances(real, fake)
    return _precision_recall(d, knn_radii(real, k), knn_radii(fake, k))


def density_coverage(real: np.ndarray, fake: np.ndarray, k: int = DC_K) -> tuple[float, float]:
    """Density and coverage (features [N, D] with N > k, and [M, D])."""
    return _density_coverage(pairwise_distances(real, fake), knn_radii(real, k), k)


def prdc(real: np.ndarray, fake: np.ndarray, k_pr: int = PR_K, k_dc: int = DC_K) -> dict[str, float]:
    """All four metrics in one dict (precision, recall, density, coverage), each distance computed once.

    Args:
        real: features [N, D], N > max(k_pr, k_dc).
        fake: features [M, D], M > k_pr.
    """
    d_real, d_fake = pairwise_distances(real, real), pairwise_distances(fake, fake)
    d = pairwise_distances(real, fake)  # [N, M]
    precision, recall = _precision_recall(d, _kth_other(d_real, k_pr), _kth_other(d_fake, k_pr))
    density, coverage = _density_coverage(d, _kth_other(d_real, k_dc), k_dc)
    return {"precision": precision, "recall": recall, "density": density, "coverage": coverage}


def _precision_recall(d: np.ndarray, real_radii: np.ndarray, fake_radii: np.ndarray) -> tuple[float, float]:
    # A point on a ball's boundary counts as inside, as in the paper (and StyleGAN3's code).
    precision = (d <= real_radii[:, None]).any(axis=0).mean()
    recall = (d <= fake_radii[None, :]).any(axis=1).mean()
    return float(precision), float(recall)


def _density_coverage(d: np.ndarray, real_radii: np.ndarray, k: int) -> tuple[float, float]:
    # Strict inequality, as the authors' reference code (clovaai/generative-evaluation-prdc).
    inside = d < real_radii[:, None]  # [N, M]: fake j inside real ball i
    density = inside.sum() / (k * d.shape[1])
    coverage = inside.any(axis=1).mean()
    return float(density), float(coverage)
