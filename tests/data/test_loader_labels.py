"""Labels travel with their images through every loader path; --balanced draws labels equally."""

import json

import numpy as np
import pytest
import torch

from artistry.data.loader import BatchLoader
from artistry.errors import ConfigError


def numbered_images(count: int) -> np.ndarray:
    """Image i is filled with the value i, so a batch tells which images it holds."""
    return np.broadcast_to(np.arange(count, dtype=np.uint8)[:, None, None, None], (count, 1, 2, 2)).copy()


def ids(batch: torch.Tensor) -> list[int]:
    return [round((v + 1) * 127.5) for v in batch[:, 0, 0, 0].tolist()]


def labels_of(count: int, classes: int = 3) -> np.ndarray:
    return (np.arange(count) % classes).astype(np.int64)  # image i has label i % classes


@pytest.mark.parametrize("balanced", [False, True])
@pytest.mark.parametrize("resident", [False, True])
def test_each_label_belongs_to_the_image_beside_it(resident, balanced):
    loader = BatchLoader(
        numbered_images(20), 6, seed=4, mirror=True, labels=labels_of(20), resident=resident, balanced=balanced
    )
    for _ in range(8):  # across epoch boundaries
        images, labels = next(loader)
        assert labels.dtype == torch.int64 and labels.shape == (6,)
        assert [i % 3 for i in ids(images)] == labels.tolist()


def test_a_rank_gets_the_labels_of_its_slice():
    labels = labels_of(20)
    one = BatchLoader(numbered_images(20), 6, seed=3, labels=labels, balanced=True)
    ranks = [BatchLoader(numbered_images(20), 6, seed=3, labels=labels, balanced=True, shard=(r, 3)) for r in range(3)]
    for _ in range(7):
        images, whole = next(one)
        parts = [next(r) for r in ranks]
        assert torch.equal(torch.cat([p[0] for p in parts]), images)
        assert torch.equal(torch.cat([p[1] for p in parts]), whole)


def test_balanced_sampling_draws_every_label_about_equally_often():
    labels = np.array([0] * 90 + [1] * 8 + [2] * 2, dtype=np.int64)  # 90 : 8 : 2
    plain = BatchLoader(numbered_images(100), 10, seed=0, labels=labels)
    balanced = BatchLoader(numbered_images(100), 10, seed=0, labels=labels, balanced=True)
    drawn_plain = torch.cat([next(plain)[1] for _ in range(300)])
    drawn = torch.cat([next(balanced)[1] for _ in range(300)])  # 3,000 labels
    share = torch.bincount(drawn, minlength=3).double() / len(drawn)
    assert ((share - 1 / 3).abs() < 0.04).all(), share
    assert torch.bincount(drawn_plain, minlength=3)[0] / len(drawn_plain) == pytest.approx(0.9)
    ids_drawn = set()
    for _ in range(100):
        images, lab = next(balanced)
        ids_drawn.update(i for i, y in zip(ids(images), lab.tolist()) if y == 2)
    assert ids_drawn == {98, 99}  # the rare label's images, both of them


@pytest.mark.parametrize("stop_after", [0, 5, 9, 23])
def test_a_balanced_loader_resumes_exactly(stop_after):
    images, labels = numbered_images(30), labels_of(30, 4)
    uninterrupted = BatchLoader(images, 3, seed=5, mirror=True, labels=labels, balanced=True)
    expected = [next(uninterrupted) for _ in range(stop_after + 12)][stop_after:]
    interrupted = BatchLoader(images, 3, seed=5, mirror=True, labels=labels, balanced=True)
    for _ in range(stop_after):
        next(interrupted)
    resumed = BatchLoader(images, 3, seed=5, mirror=True, labels=labels, balanced=True)
    resumed.load_state_dict(json.loads(json.dumps(interrupted.state_dict())))
    for (want_x, want_y), (got_x, got_y) in zip(expected, [next(resumed) for _ in range(12)]):
        assert torch.equal(want_x, got_x) and torch.equal(want_y, got_y)


def test_balanced_without_labels_names_the_flag():
    with pytest.raises(ConfigError, match="--balanced"):
        BatchLoader(numbered_images(10), 2, balanced=True)


def test_labels_must_match_the_images():
    with pytest.raises(ValueError, match="labels"):
        BatchLoader(numbered_images(10), 2, labels=np.zeros(9, dtype=np.int64))
