"""Fréchet Inception Distance: the Fréchet distance between two Gaussians fitted to features."""

from __future__ import annotations

import numpy as np

from ..errors import DataError


def feature_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean [D] and covariance [D, D] (unbiased, N - 1) of features [N, D], in float64.

    Args:
        features: one row per image; at least 2 rows.
    """
    features = _checked(features)
    return features.mean(axis=0), np.cov(features, rowvar=False)


def _checked(features: np.ndarray) -> np.ndarray:
    features = np.asarray(features, np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise DataError(f"FID needs at least 2 images per side, got features of shape {list(features.shape)}")
    return features


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """|mu1 - mu2|^2 + tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2)).

    The trace of the matrix square root equals the sum of the square roots of the eigenvalues of
    the symmetric matrix S1^(1/2) sigma2 S1^(1/2) (S1^(1/2) = symmetric root of sigma1). Two symmetric
    eigen-decompositions are ~10x faster than scipy.linalg.sqrtm on 2048 x 2048 and stay accurate
    when the covariances are singular (fewer images than dimensions), where sqrtm's general Schur
    route picks up complex noise. Agrees with the sqrtm formula of the FID tools to ~1e-5.

    Args:
        mu1, mu2: means [D].
        sigma1, sigma2: covariances [D, D], symmetric positive semi-definite.
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != mu1.shape * 2:
        raise DataError(
            f"statistics do not match: means {mu1.shape} vs {mu2.shape}, covariances {sigma1.shape} vs {sigma2.shape}"
        )
    root1 = _psd_sqrt(sigma1)
    inner = root1 @ sigma2 @ root1
    eigenvalues = np.linalg.eigvalsh((inner + inner.T) / 2)  # symmetrise away rounding
    trace_sqrt = np.sqrt(np.clip(eigenvalues, 0, None)).sum()  # tiny negatives are rounding noise
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt)


def fid_from_features(features1: np.ndarray, features2: np.ndarray) -> float:
    """FID between two feature sets [N1, D] and [N2, D].

    With fewer images than dimensions (the usual case: 2048-d features) the covariances are
    singular and the trace term has an exact, much cheaper form: with centred features A and B,
    tr((sigma1 sigma2)^(1/2)) = (sum of singular values of A B^T) / sqrt((N1 - 1)(N2 - 1)),
    an eigen-decomposition of min(N1, N2)^2 instead of D x D ones. Otherwise this is
    `frechet_distance(*feature_stats(features1), *feature_stats(features2))`.
    """
    f1, f2 = _checked(features1), _checked(features2)
    n1, n2, dim = len(f1), len(f2), f1.shape[1]
    if min(n1, n2) > dim or f2.shape[1] != dim:
        return frechet_distance(*feature_stats(f1), *feature_stats(f2))
    mu1, mu2 = f1.mean(axis=0), f2.mean(axis=0)
    a, b = f1 - mu1, f2 - mu2  # [N1, D], [N2, D]
    cross = a @ b.T if n1 <= n2 else b @ a.T  # [n, m] with n = min(N1, N2)
    # Singular values of `cross` = square roots of the eigenvalues of cross cross^T ([n, n]):
    # eigvalsh is ~5x faster than an SVD here and agrees to ~1e-9 in FID.
    squared = np.linalg.eigvalsh(cross @ cross.T)
    trace_sqrt = np.sqrt(np.clip(squared, 0, None)).sum() / np.sqrt((n1 - 1) * (n2 - 1))
    trace1, trace2 = (a * a).sum() / (n1 - 1), (b * b).sum() / (n2 - 1)
    diff = mu1 - mu2
    return float(diff @ diff + trace1 + trace2 - 2 * trace_sqrt)


def _psd_sqrt(sigma: np.ndarray) -> np.ndarray:
    """Symmetric square root of a positive semi-definite matrix [D, D]."""
    eigenvalues, vectors = np.linalg.eigh(sigma)
    return (vectors * np.sqrt(np.clip(eigenvalues, 0, None))) @ vectors.T
