"""The label classifier and label agreement, on images whose label is their colour."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from artistry.metrics.label_agreement import (
    agreement_report,
    cached_label_classifier,
    label_agreement,
    stratified_split,
    train_label_classifier,
)

COLOURS = np.array([[220, 40, 40], [40, 200, 60], [50, 60, 230]])  # red, green, blue
NAMES = ["red", "green", "blue"]


def painted(labels: np.ndarray, size: int = 16, seed: int = 0) -> np.ndarray:
    """uint8 [N, 3, size, size]: each image its label's colour plus noise and a random bright stripe."""
    rng = np.random.default_rng(seed)
    base = COLOURS[labels][:, :, None, None].astype(np.float64)
    images = base + rng.normal(0, 25, (len(labels), 3, size, size))
    for img in images:
        row = rng.integers(0, size)
        img[:, row] += 60
    return np.clip(images, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def colour_data():
    labels = np.repeat(np.arange(3), [30, 20, 25])
    return painted(labels), labels


@pytest.fixture(scope="module")
def trained(colour_data):
    images, labels = colour_data
    return train_label_classifier(images, labels, NAMES, epochs=15, log=lambda s: None)


def test_stratified_split_holds_out_a_share_of_every_label_and_is_seeded():
    labels = np.repeat(np.arange(4), [50, 10, 2, 1])
    train, held = stratified_split(labels, 0.2, seed=3)
    assert np.array_equal(np.sort(np.concatenate([train, held])), np.arange(len(labels)))
    assert [int((labels[held] == k).sum()) for k in range(4)] == [10, 2, 1, 0]  # a lone image stays in training
    again = stratified_split(labels, 0.2, seed=3)[1]
    other = stratified_split(labels, 0.2, seed=4)[1]
    assert np.array_equal(held, again) and not np.array_equal(held, other)


def test_classifier_learns_separable_labels(trained, colour_data):
    assert trained.n_held_out == 6 + 4 + 5 and trained.n_train == 75 - 15
    assert trained.accuracy == 1.0
    assert trained.per_label_accuracy == {"red": 1.0, "green": 1.0, "blue": 1.0}
    fresh = painted(np.array([2, 0, 1, 1]), seed=9)
    assert trained.model.predict(fresh).tolist() == [2, 0, 1, 1]


def test_training_leaves_the_global_rng_and_threads_alone(colour_data):
    images, labels = colour_data
    torch.manual_seed(123)
    state, threads = torch.get_rng_state(), torch.get_num_threads()
    train_label_classifier(images[:20], labels[:20], NAMES, epochs=1, log=lambda s: None)
    assert torch.equal(torch.get_rng_state(), state) and torch.get_num_threads() == threads


def test_training_is_repeatable(colour_data):
    images, labels = colour_data
    a = train_label_classifier(images, labels, NAMES, epochs=2, log=lambda s: None)
    b = train_label_classifier(images, labels, NAMES, epochs=2, log=lambda s: None)
    for (k, va), vb in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        assert torch.equal(va, vb), k


def test_classifier_is_cached_per_dataset_and_retrained_when_damaged(colour_data, tmp_path):
    images, labels = colour_data
    first = cached_label_classifier(images, labels, NAMES, "key-a", tmp_path, epochs=3, log=lambda s: None)
    second = cached_label_classifier(images, labels, NAMES, "key-a", tmp_path, epochs=3, log=lambda s: None)
    assert (first.cached, second.cached) == (False, True)
    assert second.accuracy == first.accuracy and second.per_label_accuracy == first.per_label_accuracy
    assert np.array_equal(first.model.predict(images), second.model.predict(images))
    (path,) = (tmp_path / "label_classifier").iterdir()
    other = cached_label_classifier(images, labels, NAMES, "key-b", tmp_path, epochs=3, log=lambda s: None)
    assert not other.cached  # another dataset, another file
    path.write_bytes(b"torn")
    assert not cached_label_classifier(images, labels, NAMES, "key-a", tmp_path, epochs=3, log=lambda s: None).cached


def test_label_agreement_counts_images_classified_as_asked():
    asked = np.array([0, 0, 0, 0, 1, 1, 2])
    predicted = np.array([0, 0, 0, 1, 1, 0, 1])
    result = label_agreement(predicted, asked, NAMES + ["never asked"])
    assert result["overall"] == pytest.approx(4 / 7) and result["n"] == 7
    assert result["per_label"] == {
        "red": {"n": 4, "agreement": 0.75},
        "green": {"n": 2, "agreement": 0.5},
        "blue": {"n": 1, "agreement": 0.0},
    }


@pytest.mark.parametrize("generator, expected", [("follows", 1.0), ("always_red", 1 / 3)])
def test_agreement_of_a_fake_generator(trained, generator, expected):
    asked = np.repeat(np.arange(3), 10)
    painted_as = asked if generator == "follows" else np.zeros_like(asked)
    report = agreement_report(trained, painted(painted_as, seed=5), asked)
    assert report["overall"] == pytest.approx(expected)
    assert report["ratio_to_classifier_accuracy"] == pytest.approx(expected / trained.accuracy)
    assert report["classifier"]["accuracy"] == trained.accuracy
    if generator == "always_red":
        assert [row["agreement"] for row in report["per_label"].values()] == [1.0, 0.0, 0.0]
    assert report["per_label"]["green"]["classifier_accuracy"] == 1.0
