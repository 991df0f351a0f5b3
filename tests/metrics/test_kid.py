"""KID: unbiased (about zero for one distribution), positive for different ones, deterministic."""

from __future__ import annotations

import numpy as np
import pytest

from artistry.errors import DataError
from artistry.metrics.kid import kernel_inception_distance, polynomial_kernel, unbiased_mmd2


def test_same_distribution_gives_kid_near_zero():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(400, 32)), rng.normal(size=(400, 32))
    mean, std = kernel_inception_distance(x, y, n_subsets=50, subset_size=100)
    assert abs(mean) < 2 * std


def test_shifted_distribution_gives_clearly_positive_kid():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(400, 32)), rng.normal(0.5, 1, size=(400, 32))
    mean, std = kernel_inception_distance(x, y, n_subsets=50, subset_size=100)
    assert mean > 5 * std > 0


def test_one_subset_of_everything_matches_direct_formula():
    # m = N = M: the single subset is the whole set, so KID equals the textbook estimator.
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(30, 8)), rng.normal(0.2, 1, size=(30, 8))
    kxx, kyy, kxy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    m = 30
    expected = (
        (kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1)) - 2 * kxy.mean()
    )
    mean, std = kernel_inception_distance(x, y, n_subsets=3, subset_size=1000)
    assert mean == pytest.approx(expected, rel=1e-12)
    assert std == pytest.approx(0, abs=1e-12)
    assert unbiased_mmd2(kxx, kyy, kxy) == pytest.approx(expected, rel=1e-12)


def test_precomputed_and_per_subset_kernels_agree(monkeypatch):
    import artistry.metrics.kid as kid

    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(60, 8)), rng.normal(size=(50, 8))
    fast = kid.kernel_inception_distance(x, y, n_subsets=10, subset_size=20, seed=5)
    monkeypatch.setattr(kid, "MAX_KERNEL_ENTRIES", 0)
    slow = kid.kernel_inception_distance(x, y, n_subsets=10, subset_size=20, seed=5)
    assert fast == pytest.approx(slow, rel=1e-10)


def test_two_real_splits_give_kid_near_zero(cli_fid_run):
    mean, std = kernel_inception_distance(
        cli_fid_run["features_a"], cli_fid_run["features_b"], n_subsets=100, subset_size=15
    )
    assert abs(mean) < 2 * std


def test_one_image_is_a_data_error():
    with pytest.raises(DataError, match="at least 2 images"):
        kernel_inception_distance(np.zeros((1, 4)), np.zeros((5, 4)))
