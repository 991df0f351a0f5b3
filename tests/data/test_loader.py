import json

import numpy as np
import pytest
import torch

from artistry.data.loader import BatchLoader
from artistry.errors import ConfigError


def numbered_images(count: int, size: int = 4) -> np.ndarray:
    """Image i is filled with the value i, so a batch tells which images it holds."""
    return np.broadcast_to(np.arange(count, dtype=np.uint8)[:, None, None, None], (count, 3, size, size)).copy()


def ids(batch: torch.Tensor) -> list[int]:
    """Which numbered images a batch holds (undoing the [-1, 1] scaling)."""
    return [round((v + 1) * 127.5) for v in batch[:, 0, 0, 0].tolist()]


def images_of(loader: BatchLoader) -> torch.Tensor:
    """The next batch's images; a loader without labels gives None for them."""
    images, labels = next(loader)
    assert labels is None
    return images


def take(loader: BatchLoader, count: int) -> list[torch.Tensor]:
    return [images_of(loader) for _ in range(count)]


def test_batches_are_float32_in_minus_one_to_one():
    images = np.zeros((4, 3, 8, 8), dtype=np.uint8)
    images[:2] = 255
    batch = images_of(BatchLoader(images, 4))
    assert batch.dtype == torch.float32 and batch.shape == (4, 3, 8, 8)
    assert sorted(set(batch.flatten().tolist())) == [-1.0, 1.0]


def test_each_epoch_is_a_fresh_permutation_and_the_tail_is_dropped():
    loader = BatchLoader(numbered_images(10), 4, seed=3)
    assert len(loader) == 10 and loader.batches_per_epoch == 2
    epoch0 = ids(images_of(loader)) + ids(images_of(loader))
    assert loader.epoch == 0 and len(set(epoch0)) == 8
    epoch1 = ids(images_of(loader)) + ids(images_of(loader))
    assert loader.epoch == 1 and len(set(epoch1)) == 8
    assert epoch0 != epoch1


def test_every_image_once_per_epoch_when_the_batch_divides_the_dataset():
    loader = BatchLoader(numbered_images(12), 4, seed=0)
    for _ in range(3):
        assert sorted(sum((ids(b) for b in take(loader, 3)), [])) == list(range(12))


def test_same_seed_same_batches_other_seed_other_batches():
    images = numbered_images(50)
    first = [ids(b) for b in take(BatchLoader(images, 8, seed=1), 20)]
    again = [ids(b) for b in take(BatchLoader(images, 8, seed=1), 20)]
    other = [ids(b) for b in take(BatchLoader(images, 8, seed=2), 20)]
    assert first == again and first != other


@pytest.mark.parametrize("mirror", [False, True])
@pytest.mark.parametrize("stop_after", [0, 3, 6, 7, 13])  # 6 batches per epoch: 6 and 13 are edges
def test_resumed_loader_continues_exactly_like_an_uninterrupted_one(mirror, stop_after):
    images = np.random.default_rng(0).integers(0, 256, (20, 3, 6, 6), dtype=np.uint8)
    uninterrupted = BatchLoader(images, 3, seed=5, mirror=mirror)
    expected = take(uninterrupted, stop_after + 10)[stop_after:]

    interrupted = BatchLoader(images, 3, seed=5, mirror=mirror)
    take(interrupted, stop_after)
    state = json.loads(json.dumps(interrupted.state_dict()))  # as stored in a checkpoint
    resumed = BatchLoader(images, 3, seed=5, mirror=mirror)
    resumed.load_state_dict(state)
    for want, got in zip(expected, take(resumed, 10)):
        assert torch.equal(want, got)
    assert resumed.state_dict() == uninterrupted.state_dict()


def test_state_dict_counts_epochs_and_positions():
    loader = BatchLoader(numbered_images(10), 4)
    assert loader.state_dict() == {"epoch": 0, "position": 0}
    take(loader, 2)
    assert loader.state_dict() == {"epoch": 0, "position": 8}
    images_of(loader)
    assert loader.state_dict() == {"epoch": 1, "position": 4}


def test_invalid_state_is_refused():
    loader = BatchLoader(numbered_images(10), 4)
    with pytest.raises(ValueError):
        loader.load_state_dict({"epoch": -1, "position": 0})
    with pytest.raises(ValueError):
        loader.load_state_dict({"epoch": 0, "position": 11})


def test_mirror_flips_about_half_of_the_images_horizontally():
    ramp = np.tile(np.arange(8, dtype=np.uint8) * 30, (64, 3, 8, 1))  # [64, 3, 8, 8], brighter to the right
    forward = torch.from_numpy(ramp[0, 0, 0]).float() / 127.5 - 1.0  # [W]
    flipped_total = 0
    for batch in take(BatchLoader(ramp, 64, seed=0, mirror=True), 4):
        # every row of every image is either the ramp or the ramp reversed
        is_forward = (batch == forward).all(dim=-1).all(dim=(1, 2))  # [B]
        is_reversed = (batch == forward.flip(0)).all(dim=-1).all(dim=(1, 2))
        assert (is_forward ^ is_reversed).all()
        flipped_total += int(is_reversed.sum())
    assert 64 < flipped_total < 192  # about half of 256


def test_without_mirror_nothing_is_flipped():
    ramp = np.tile(np.arange(8, dtype=np.uint8) * 30, (16, 3, 8, 1))
    for batch in take(BatchLoader(ramp, 16, mirror=False), 3):
        assert (batch[:, 0, 0, :].diff(dim=1) > 0).all()


def test_the_source_array_is_never_modified():
    images = np.random.default_rng(0).integers(0, 256, (16, 3, 4, 4), dtype=np.uint8)
    original = images.copy()
    take(BatchLoader(images, 8, mirror=True), 6)
    np.testing.assert_array_equal(images, original)


def test_works_on_a_read_only_memory_map(tmp_path):
    path = tmp_path / "images.npy"
    np.save(path, numbered_images(9))
    loader = BatchLoader(np.load(path, mmap_mode="r"), 3, mirror=True)
    assert sorted(sum((ids(b) for b in take(loader, 3)), [])) == list(range(9))


def test_channels_last():
    batch = images_of(BatchLoader(numbered_images(4, size=5), 2, channels_last=True))
    assert batch.is_contiguous(memory_format=torch.channels_last)


def test_other_devices_get_the_batch_converted_there():
    # "meta" stands in for an accelerator: same code path, no data, runs anywhere.
    batch = images_of(BatchLoader(numbered_images(4, size=5), 2, device="meta", channels_last=True))
    assert batch.device.type == "meta" and batch.dtype == torch.float32 and batch.shape == (2, 3, 5, 5)
    assert batch.is_contiguous(memory_format=torch.channels_last)


def test_batch_larger_than_the_dataset_names_the_flag_and_the_count():
    with pytest.raises(ConfigError, match=r"--batch 16 .* 10 images"):
        BatchLoader(numbered_images(10), 16)
    with pytest.raises(ConfigError, match="--batch"):
        BatchLoader(numbered_images(10), 0)


def test_rejects_arrays_that_are_not_uint8_nchw():
    with pytest.raises(ValueError):
        BatchLoader(np.zeros((4, 3, 8, 8), dtype=np.float32), 2)
    with pytest.raises(ValueError):
        BatchLoader(np.zeros((4, 8, 8), dtype=np.uint8), 2)


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("mirror", [False, True])
def test_a_dataset_held_on_the_device_gives_the_same_batches_as_the_host_path(mirror, channels_last):
    """The GPU path (one gather on the device) must match the CPU path pixel for pixel, across
    epochs and after a resume; forced onto the CPU here so CI, which has no GPU, checks it."""
    images = np.random.default_rng(1).integers(0, 256, (11, 3, 5, 7), dtype=np.uint8)
    host = BatchLoader(images, 4, seed=2, mirror=mirror, channels_last=channels_last, resident=False)
    held = BatchLoader(images, 4, seed=2, mirror=mirror, channels_last=channels_last, resident=True)
    assert held.resident and not host.resident
    expected = take(host, 10)  # 2 batches per epoch: 5 epochs
    for want, got in zip(expected[:4], take(held, 4)):
        assert torch.equal(want, got)
        assert got.is_contiguous(memory_format=torch.channels_last) == channels_last
    resumed = BatchLoader(images, 4, seed=2, mirror=mirror, channels_last=channels_last, resident=True)
    resumed.load_state_dict(held.state_dict())
    for want, got in zip(expected[4:], take(resumed, 6)):
        assert torch.equal(want, got)


def test_a_dataset_stays_on_the_host_unless_a_gpu_has_room():
    images = numbered_images(8)
    assert not BatchLoader(images, 4).resident
    assert not BatchLoader(images, 4, device="meta").resident
