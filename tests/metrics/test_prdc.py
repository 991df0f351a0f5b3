"""Precision / recall / density / coverage: exact values on small constructed sets, and mode collapse."""

from __future__ import annotations

import numpy as np
import pytest

from artistry.metrics.prdc import density_coverage, knn_radii, pairwise_distances, prdc, precision_recall


def test_pairwise_distances_match_direct_computation():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(7, 5)), rng.normal(size=(4, 5))
    direct = np.sqrt(((x[:, None] - y[None]) ** 2).sum(-1))
    np.testing.assert_allclose(pairwise_distances(x, y), direct, rtol=1e-10)


def test_knn_radius_skips_the_point_itself():
    x = np.array([[0.0], [1.0], [3.0], [7.0]])
    np.testing.assert_allclose(knn_radii(x, 1), [1, 1, 2, 4])
    np.testing.assert_allclose(knn_radii(x, 2), [3, 2, 3, 6])


def test_identical_sets_score_perfectly():
    x = np.random.default_rng(1).normal(size=(50, 8))
    scores = prdc(x, x.copy())
    assert scores["precision"] == scores["recall"] == scores["coverage"] == 1.0
    assert scores["density"] == pytest.approx(1.0, abs=0.25)  # each real ball holds ~k of the others, / k


def test_far_away_samples_score_zero():
    rng = np.random.default_rng(2)
    real, fake = rng.normal(size=(40, 8)), rng.normal(100, 1, size=(40, 8))
    assert prdc(real, fake) == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_prdc_equals_the_separate_functions():
    rng = np.random.default_rng(3)
    real, fake = rng.normal(size=(60, 6)), rng.normal(0.3, 1.2, size=(45, 6))
    scores = prdc(real, fake)
    assert (scores["precision"], scores["recall"]) == precision_recall(real, fake)
    assert (scores["density"], scores["coverage"]) == density_coverage(real, fake)


def test_collapsed_samples_keep_precision_but_lose_recall_and_coverage_gaussian():
    rng = np.random.default_rng(4)
    real = rng.normal(size=(100, 8))
    collapsed = np.repeat(real[:1] * 0.1, 100, axis=0)  # one typical sample, 100 times
    healthy = prdc(real, rng.normal(size=(100, 8)))
    scores = prdc(real, collapsed)
    assert scores["precision"] == 1.0
    assert scores["recall"] <= 0.05 < 0.5 < healthy["recall"]
    assert scores["coverage"] <= 0.3 < 0.8 < healthy["coverage"]  # only balls around the centre hold it


def test_collapsed_paintings_keep_precision_but_lose_recall_and_coverage(cli_fid_run):
    # One real painting repeated 30 times, judged against the 30 paintings of folder A.
    real = cli_fid_run["features_a"]
    collapsed = np.repeat(real[3:4], len(real), axis=0)
    healthy = prdc(real, cli_fid_run["features_b"])
    scores = prdc(real, collapsed)
    assert scores["precision"] == 1.0
    assert scores["recall"] <= 1 / len(real) + 1e-9 < healthy["recall"]
    assert scores["coverage"] <= 0.2 < healthy["coverage"]
