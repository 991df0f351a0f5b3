"""Fréchet distance on Gaussians whose distance has a closed form, and the two FID routes."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import ortho_group

from artistry.errors import DataError
from artistry.metrics.fid import feature_stats, fid_from_features, frechet_distance


def test_identical_gaussians_are_at_distance_zero():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 16))
    mu, sigma = feature_stats(x)
    assert frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0, abs=1e-9)


def test_diagonal_covariances_match_closed_form():
    # For diagonal covariances: |mu1 - mu2|^2 + sum_i (sqrt(a_i) - sqrt(b_i))^2.
    rng = np.random.default_rng(1)
    a, b = rng.uniform(0.1, 3, 32), rng.uniform(0.1, 3, 32)
    mu1, mu2 = rng.normal(size=32), rng.normal(size=32)
    expected = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-10)


def test_rotated_commuting_covariances_match_closed_form():
    # Covariances sharing eigenvectors Q: the same closed form on their eigenvalues, in a
    # basis where neither matrix is diagonal.
    q = ortho_group.rvs(24, random_state=2)
    a, b = np.linspace(0.5, 4, 24), np.linspace(3, 0.2, 24)
    sigma1, sigma2 = q @ np.diag(a) @ q.T, q @ np.diag(b) @ q.T
    mu1, mu2 = np.zeros(24), np.full(24, 0.5)
    expected = 24 * 0.25 + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    assert frechet_distance(mu1, sigma1, mu2, sigma2) == pytest.approx(expected, rel=1e-9)


def test_scaled_covariance_matches_closed_form():
    # sigma2 = c^2 sigma1 gives tr(sigma1) (1 - c)^2 for any sigma1.
    rng = np.random.default_rng(3)
    m = rng.normal(size=(20, 20))
    sigma = m @ m.T + 0.1 * np.eye(20)
    mu = np.zeros(20)
    assert frechet_distance(mu, sigma, mu, 4 * sigma) == pytest.approx(np.trace(sigma), rel=1e-9)


@pytest.mark.parametrize("n1, n2, dim", [(5, 7, 40), (25, 18, 64), (300, 250, 16)])
def test_low_rank_route_equals_covariance_route(n1, n2, dim):
    rng = np.random.default_rng(n1)
    x, y = rng.normal(size=(n1, dim)), rng.normal(0.3, 1.5, size=(n2, dim))
    expected = frechet_distance(*feature_stats(x), *feature_stats(y))
    # rel 1e-7: the covariance route picks up sqrt(rounding) from the zero eigenvalues of singular covariances
    assert fid_from_features(x, y) == pytest.approx(expected, rel=1e-7, abs=1e-8)


def test_fid_from_samples_approaches_population_value():
    # Many samples of N(0, I) and N(1, 4I) in 4-d: FID -> 4 * 1 + 4 * (2 - 1)^2 = 8.
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(40_000, 4)), rng.normal(1, 2, size=(40_000, 4))
    assert fid_from_features(x, y) == pytest.approx(8, rel=0.02)


def test_too_few_images_is_a_data_error():
    with pytest.raises(DataError, match="at least 2 images"):
        feature_stats(np.zeros((1, 8)))
