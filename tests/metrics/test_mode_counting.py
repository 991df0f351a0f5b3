"""Mode counting (PacGAN/VEEGAN's measures) on hand-built sample sets with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from artistry.metrics.modes import (
    digit_bias_kl,
    digit_frequencies,
    grid_means,
    mixture,
    reverse_kl,
    ring_means,
    sample_mixture,
    score_2d,
    score_mixture,
    score_stacked,
)


def test_mixture_definitions_match_pacgan():
    ring = ring_means()
    assert ring.shape == (8, 2) and np.allclose(np.linalg.norm(ring, axis=1), 1.0)
    assert np.allclose(ring[2], [0, 1], atol=1e-12)
    grid = grid_means()
    assert grid.shape == (25, 2) and set(np.unique(grid)) == {-4.0, -2.0, 0.0, 2.0, 4.0}
    assert mixture("ring")[1] == 0.01 and mixture("grid")[1] == 0.05
    with pytest.raises(ValueError, match="ring, grid"):
        mixture("spiral")


def test_samples_from_the_target_itself_score_perfectly():
    rng = np.random.default_rng(0)
    for name, k in (("ring", 8), ("grid", 25)):
        s = score_mixture(sample_mixture(name, 2500, rng), name)
        assert s.modes == k
        assert s.high_quality > 0.98  # 3 sigma keeps ~98.9 % of a 2-D Gaussian
        assert s.reverse_kl < 0.02


def test_collapse_onto_one_mode():
    x = np.tile(ring_means()[3], (100, 1))
    s = score_mixture(x, "ring")
    assert (s.modes, s.high_quality) == (1, 1.0)
    assert s.reverse_kl == pytest.approx(math.log(8))
    assert s.counts[3] == 100


def test_high_quality_threshold_is_three_sigma():
    m = ring_means()[0]
    inside = m + np.array([0.0, 2.9 * 0.01])
    outside = m + np.array([0.0, 3.1 * 0.01])
    s = score_mixture(np.stack([inside, outside]), "ring")
    assert s.high_quality == 0.5 and s.modes == 1
    # a mode hit only by low-quality samples is not captured
    s = score_mixture(np.stack([outside] * 5 + [ring_means()[4]]), "ring")
    assert s.modes == 1 and s.counts[0] == 0 and s.counts[4] == 1


def test_counts_use_the_nearest_mode_and_kl_only_high_quality_samples():
    means = grid_means()
    x = np.concatenate(
        [np.tile(means[0], (30, 1)), np.tile(means[24], (10, 1)), np.full((60, 2), 1.0)]
    )  # 60 points between modes
    s = score_2d(x, means, 0.05)
    assert s.modes == 2 and s.high_quality == pytest.approx(0.4)
    p = np.array([0.75, 0.25])
    assert s.reverse_kl == pytest.approx(float(np.sum(p * np.log(p * 25))))


def test_reverse_kl_formula():
    assert reverse_kl(np.array([5, 5, 5, 5])) == pytest.approx(0.0)
    assert reverse_kl(np.array([3, 1, 0, 0])) == pytest.approx(0.75 * math.log(3))
    assert math.isnan(reverse_kl(np.zeros(4)))


def test_stacked_mnist_modes_and_kl():
    all_modes = np.array([(a, b, c) for a in range(10) for b in range(10) for c in range(10)])
    s = score_stacked(np.concatenate([all_modes, all_modes]))
    assert (s.modes, s.n_modes) == (1000, 1000) and s.reverse_kl == pytest.approx(0.0, abs=1e-12)
    s = score_stacked(np.tile([[1, 2, 3]], (26, 1)))
    assert s.modes == 1 and s.reverse_kl == pytest.approx(math.log(1000))
    assert s.counts[123] == 26  # mode index is the three digits read as a number
    s = score_stacked(np.array([[0, 0, 0], [0, 0, 1], [0, 0, 1], [9, 9, 9]]))
    assert s.modes == 3


def test_stacked_kl_splits_into_per_digit_bias_and_pairing():
    every = np.array([[a, b, c] for a in range(10) for b in range(10) for c in range(10)])
    uniform = score_stacked(every).counts
    assert digit_bias_kl(uniform) == pytest.approx(0.0, abs=1e-12)
    # channel 0 paints twice as many 0s as any other digit, channels independent: all of the KL is bias
    biased = score_stacked(np.concatenate([every, every[every[:, 0] == 0]]))
    f = digit_frequencies(biased.counts)
    assert f[0, 0] == pytest.approx(2 / 11) and f[1] == pytest.approx(np.full(10, 0.1))
    assert digit_bias_kl(biased.counts) == pytest.approx(biased.reverse_kl)
    # every digit equally often in each channel but always the same triple: none of it is bias
    diagonal = score_stacked(np.repeat(np.arange(10), 3).reshape(10, 3))
    assert digit_bias_kl(diagonal.counts) == pytest.approx(0.0, abs=1e-12)
    assert diagonal.reverse_kl == pytest.approx(math.log(100))
