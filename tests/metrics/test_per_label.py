"""Per-label metrics: labels asked in the real proportions, each label scored against its own real images."""

from __future__ import annotations

import numpy as np
import pytest

from artistry.metrics.per_label import MIN_GENERATED, per_label_markdown, per_label_metrics, proportional_labels


def test_proportional_labels_follow_the_real_counts_and_sum_to_n():
    real = np.repeat(np.arange(4), [60, 30, 9, 1])  # shares 0.6, 0.3, 0.09, 0.01
    asked = proportional_labels(real, 4, 50)  # exact 30, 15, 4.5, 0.5: ties go to the lower index
    assert np.bincount(asked, minlength=4).tolist() == [30, 15, 5, 0]
    assert asked.tolist() == sorted(asked.tolist())  # grouped by label
    assert len(proportional_labels(real, 5, 7)) == 7  # a label with no real images is never asked


def features(rng, n: int, centre: float) -> np.ndarray:
    return rng.normal(centre, 1.0, (n, 8))


def test_each_label_is_scored_against_its_own_real_images():
    rng = np.random.default_rng(0)
    real_labels = np.repeat([0, 1, 2], [80, 60, 20])
    real = np.concatenate([features(rng, 80, 0.0), features(rng, 60, 5.0), features(rng, 20, 9.0)])
    asked = np.repeat([0, 1, 2], [40, 40, 10])
    # label 0's samples look like label 0; label 1's samples look like label 0 too (conditioning ignored)
    gen = np.concatenate([features(rng, 40, 0.0), features(rng, 40, 0.0), features(rng, 10, 9.0)])
    result = per_label_metrics(gen, asked, real, real_labels, ["a", "b", "c"], min_images=50, kid_subset_size=40)
    a, b = result["labels"]["a"], result["labels"]["b"]
    assert (a["n_real"], a["n_generated"], b["n_real"], b["n_generated"]) == (80, 40, 60, 40)
    assert a["fid"] < 5 < 100 < b["fid"]
    assert a["precision"] >= 0.7 and b["precision"] == 0.0
    assert result["left_out"] == {"c": "20 real images (< 50)"}


def test_a_label_with_too_few_samples_is_left_out_with_a_reason():
    rng = np.random.default_rng(1)
    real = features(rng, 60, 0.0)
    result = per_label_metrics(
        features(rng, MIN_GENERATED - 1, 0.0), np.zeros(MIN_GENERATED - 1, int), real, np.zeros(60, int), ["a"]
    )
    assert result["labels"] == {} and "raise --n" in result["left_out"]["a"]


def test_markdown_has_one_row_per_label_and_the_agreement_columns():
    row = {"n_real": 60, "n_generated": 40, "fid": 12.34, "kid": 0.002, "kid_std": 0.001}
    row.update(precision=0.5, recall=0.25, density=1.0, coverage=0.75)
    per_label = {"min_images": 50, "labels": {"Ukiyo-e": row}, "left_out": {"Rococo": "38 real images (< 50)"}}
    agreement = {"per_label": {"Ukiyo-e": {"n": 40, "agreement": 0.625, "classifier_accuracy": 0.5}}}
    text = "\n".join(per_label_markdown(per_label, agreement))
    assert "| Ukiyo-e | 60 | 40 | 12.3 | 2.0 ± 1.0 | 0.500 | 0.250 | 0.750 | 62.5% | 50.0% |" in text
    assert "Left out: Rococo: 38 real images (< 50)." in text
    assert "label agreement" not in "\n".join(per_label_markdown(per_label))


@pytest.mark.parametrize("n", [1, 13, 2000])
def test_proportional_labels_any_n(n):
    assert len(proportional_labels(np.array([0, 1, 1, 2, 2, 2]), 3, n)) == n
