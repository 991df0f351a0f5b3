"""Memorisation check: exact copies of training images are flagged, fresh real images mostly not."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from artistry.errors import DataError
from artistry.metrics.memorization import check_memorization, cosine_nearest, pixel_nearest, save_pairs_sheet


def test_pixel_nearest_finds_the_closest_image_with_exact_distance():
    rng = np.random.default_rng(0)
    reference = rng.integers(0, 256, size=(300, 1, 6, 6), dtype=np.uint8)  # > one block of 256
    queries = reference[[5, 280, 17]].copy()
    queries[2, 0, 0, 0] ^= 0xFF  # one pixel changed
    nearest = pixel_nearest(queries, reference)
    np.testing.assert_array_equal(nearest.index, [5, 280, 17])
    assert nearest.distance[0] == nearest.distance[1] == 0.0
    changed = abs(int(queries[2, 0, 0, 0]) - int(reference[17, 0, 0, 0])) / 255
    assert nearest.distance[2] == pytest.approx(changed / 6, rel=1e-9)  # RMS over 36 pixels


def test_pixel_ratio_compares_the_nearest_with_the_next_neighbours():
    reference = np.array([[[[0]]], [[[10]]], [[[30]]], [[[50]]]], dtype=np.uint8)
    nearest = pixel_nearest(np.array([[[[12]]], [[[10]]]], dtype=np.uint8), reference, neighbours=2)
    np.testing.assert_array_equal(nearest.index, [1, 1])
    np.testing.assert_allclose(nearest.ratio, [2 / ((12 + 18) / 2), 0.0])  # next two: 0 and 30
    lonely = pixel_nearest(np.array([[[[3]]], [[[0]]]], dtype=np.uint8), reference[:1])
    np.testing.assert_array_equal(lonely.ratio, [1.0, 0.0])  # one reference: only a copy counts


def textured_paintings(rng: np.random.Generator, n: int) -> np.ndarray:
    """uint8 [n, 3, 16, 16]: a plain beige ground, a little different each, under strong brushwork."""
    ground = 190 + rng.normal(0, 6, size=(n, 3, 1, 1))
    return np.clip(ground + rng.normal(0, 40, size=(n, 3, 16, 16)), 0, 255).astype(np.uint8)


def test_a_washed_out_sample_is_not_a_copy_but_a_noisy_copy_is():
    """Pixel RMS rewards blur: a plain beige sample is nearer every painting than real paintings
    are to each other. The ratio to the next neighbours tells it from a copy."""
    rng = np.random.default_rng(0)
    train, held_out = textured_paintings(rng, 300), textured_paintings(rng, 100)
    plain = np.clip(190 + rng.normal(0, 6, size=(40, 3, 1, 1)) + np.zeros((1, 1, 16, 16)), 0, 255).astype(np.uint8)
    noisy = np.clip(train[:40] + rng.normal(0, 8, size=(40, 3, 16, 16)), 0, 255).astype(np.uint8)
    features = lambda n: rng.normal(size=(n, 8))  # noqa: E731  unrelated features: cosine flags ~nothing
    result = check_memorization(
        features(80), np.concatenate([plain, noisy]), features(300), train, features(100), held_out
    )
    real_rms = pixel_nearest(held_out, train).distance
    assert (result.pixel.distance[:40] < np.percentile(real_rms, 5)).all()  # the old, absolute test flagged all
    assert result.flagged[:40].mean() <= 0.2
    assert result.flagged[40:].all()
    np.testing.assert_array_equal(result.pixel.index[40:], np.arange(40))


def test_self_matches_are_excluded_when_asked():
    x = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    nearest = cosine_nearest(x, x, query_index=np.arange(3))
    np.testing.assert_array_equal(nearest.index, [1, 0, 1])
    images = np.array([[[[0]]], [[[10]]], [[[200]]]], dtype=np.uint8)
    np.testing.assert_array_equal(pixel_nearest(images, images, query_index=np.arange(3)).index, [1, 0, 1])


def test_copies_of_training_paintings_are_flagged(cli_fid_run, painting_images):
    train_images, held_out_images = painting_images
    train, held_out = cli_fid_run["features_a"], cli_fid_run["features_b"]
    # 10 exact copies of training paintings, then 10 held-out paintings the model never saw.
    gen_images = np.concatenate([train_images[:10], held_out_images[20:]])
    gen = np.concatenate([train[:10], held_out[20:]])
    result = check_memorization(gen, gen_images, train, train_images, held_out, held_out_images)
    assert result.flagged[:10].all()
    assert result.flagged[10:].mean() <= 0.3
    np.testing.assert_array_equal(result.cosine.index[:10], np.arange(10))
    np.testing.assert_array_equal(result.pixel.index[:10], np.arange(10))
    assert (result.pixel.distance[:10] == 0).all()
    summary = result.summary()
    assert summary["share_flagged"] >= 0.5
    assert "held-out" in summary["calibration"]
    assert summary["closest_pairs"][0]["cosine_distance"] == pytest.approx(0, abs=1e-9)


def test_leave_one_out_calibration_also_flags_copies(cli_fid_run, painting_images):
    train_images = painting_images[0]
    train = cli_fid_run["features_a"]
    result = check_memorization(train[5:15], train_images[5:15], train, train_images)
    assert result.flagged.all()
    assert "leave-one-out" in result.calibration
    assert result.cosine_threshold > 0 and 0 < result.pixel_threshold < 1


def test_pairs_sheet_is_written(cli_fid_run, painting_images, tmp_path):
    train_images = painting_images[0]
    train = cli_fid_run["features_a"]
    result = check_memorization(train[:6], train_images[:6], train, train_images)
    path = tmp_path / "eval" / "nearest.png"
    save_pairs_sheet(result, train_images[:6], train_images, path, n_pairs=6, pairs_per_row=3)
    with Image.open(path) as sheet:
        assert sheet.width > 3 * 2 * 128 and sheet.height > 2 * 128


def test_mismatched_sizes_are_a_data_error():
    with pytest.raises(DataError, match="same size"):
        check_memorization(
            np.zeros((2, 4)), np.zeros((2, 3, 8, 8), np.uint8), np.zeros((2, 4)), np.zeros((2, 3, 16, 16), np.uint8)
        )
