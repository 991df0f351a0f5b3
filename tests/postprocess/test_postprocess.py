"""Post-processing steps on constructed images: the exact pixels they should give."""

import argparse

import numpy as np
import pytest

from artistry.errors import ConfigError
from artistry.postprocess import Pipeline, add_postprocess_arguments, contour, otsu_threshold, to_bw, upscale

W, K = 255, 0  # white paper, black ink


def page(h=24, w=24):
    return np.full((1, h, w), W, np.uint8)


def test_otsu_splits_two_populations_between_them():
    grey = np.concatenate([np.full(100, 40.0), np.full(300, 200.0)])
    assert 40 <= otsu_threshold(grey) < 200
    rng = np.random.default_rng(0)
    grey = np.concatenate([rng.normal(60, 10, 500), rng.normal(180, 10, 500)]).clip(0, 255)
    assert 90 < otsu_threshold(grey) < 150


def test_bw_fixed_threshold_gives_exact_pixels_and_keeps_channels():
    img = np.array([[[0, 100, 127, 128, 200, 255]]], np.uint8)  # [1, 1, 6]
    assert to_bw(img, 0.5).tolist() == [[[K, K, K, W, W, W]]]  # 0.5 * 255 = 127.5
    assert to_bw(img, 0.3).tolist() == [[[K, W, W, W, W, W]]]
    rgb = np.zeros((2, 3, 4, 4), np.uint8)
    rgb[0, 0] = 250  # pure red: luma 0.299 * 250 = 75 -> ink at 0.5
    rgb[1] = 230  # light grey -> paper
    out = to_bw(rgb, 0.5)
    assert out.shape == (2, 3, 4, 4) and set(np.unique(out)) <= {K, W}
    assert (out[0] == K).all() and (out[1] == W).all()


def test_bw_otsu_on_a_grey_drawing():
    img = page()
    img[0, 5:15, 5:15] = 70  # dark grey shape
    img[0, 0:3, :] = 190  # light grey strip: paper
    out = to_bw(img)
    assert (out[0, 5:15, 5:15] == K).all() and (out[0, 0:3] == W).all() and (out == K).sum() == 100


def test_contour_closes_a_gap_in_an_outline():
    img = page()
    img[0, 6, 6:18] = img[0, 17, 6:18] = K  # a square outline, 1 px wide
    img[0, 6:18, 6] = img[0, 6:18, 17] = K
    img[0, 6, 11] = W  # ... with a 1-px gap in the top edge
    out = contour(img, smooth=0)
    assert out[0, 6, 11] == K  # gap closed
    assert (out[0, 9:15, 9:15] == W).all()  # the inside stays paper
    assert (out[0, 0:3] == W).all()


def test_contour_removes_specks_but_keeps_thin_lines():
    img = page()
    img[0, 3, 3] = K  # a 1-px speck
    img[0, 20, 20:22] = K  # a 2-px speck
    img[0, 2:22, 12] = K  # a 1-px wide line, 20 px long
    img[0, 8:12, 16:20] = K
    img[0, 9, 18] = W  # a 1-px hole in a 4x4 blob
    out = contour(img, smooth=0, min_area=4)
    assert out[0, 3, 3] == W and (out[0, 20, 20:22] == W).all()
    assert (out[0, 2:22, 12] == K).all()
    assert (out[0, 8:12, 16:20] == K).all()


def test_contour_smoothing_removes_spurs_keeps_lines_and_stays_binary():
    img = page(32, 32)
    img[0, 8:24, 8:24] = K
    img[0, 7, 7] = K  # a spur touching the square's corner diagonally
    img[0, 2:30, 28] = K  # a 1-px line
    out = contour(img, min_area=4)  # default smoothing (sigma 0.7)
    assert set(np.unique(out)) <= {K, W}
    assert out[0, 7, 7] == W  # the spur is smoothed away (area opening keeps it: it touches)
    assert contour(img, min_area=4, smooth=0)[0, 7, 7] == K
    assert (out[0, 9:23, 9:23] == K).all() and (out[0, 3:29, 28] == K).all()


def test_contour_binarises_grey_and_rgb_input():
    rgb = np.full((3, 16, 16), 220, np.uint8)
    rgb[:, 4:12, 4:12] = 30
    out = contour(rgb)
    assert out.shape == (3, 16, 16) and (out[:, 5:11, 5:11] == K).all() and (out[:, 0] == W).all()


def test_upscale_sizes_and_flat_regions():
    img = np.full((2, 1, 8, 6), 90, np.uint8)
    out = upscale(img, 3)
    assert out.shape == (2, 1, 24, 18) and (out == 90).all()
    assert upscale(np.zeros((3, 5, 5), np.uint8), 2).shape == (3, 10, 10)


def _parse(argv):
    p = argparse.ArgumentParser()
    add_postprocess_arguments(p)
    return p.parse_args(argv)


def test_steps_keep_command_line_order_and_compose():
    args = _parse(["--upscale", "2", "--bw", "--threshold", "0.5", "--contour"])
    assert args.post_steps == [("upscale", "2"), ("bw", None), ("contour", None)]
    img = np.zeros((1, 8, 8), np.uint8)
    img[0, :, 4:] = 255
    up_then_bw = Pipeline.from_args(args)(img)
    assert up_then_bw.shape == (1, 16, 16) and set(np.unique(up_then_bw)) <= {K, W}
    bw_then_up = Pipeline([("bw", None), ("upscale", 2)])(img)
    assert bw_then_up.shape == (1, 16, 16) and len(np.unique(bw_then_up)) > 2  # Lanczos greys the edge
    assert not np.array_equal(up_then_bw, bw_then_up)


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["--threshold", "0.5"], "--threshold"),
        (["--bw", "--threshold", "1.5"], "--threshold"),
        (["--bw", "--threshold", "high"], "--threshold"),
        (["--upscale", "1"], "--upscale"),
        (["--upscale", "x"], "--upscale"),
    ],
)
def test_bad_flags_name_the_flag(argv, flag):
    with pytest.raises(ConfigError, match=flag):
        Pipeline.from_args(_parse(argv))


def test_functions_reject_float_images():
    with pytest.raises(ValueError, match="uint8"):
        to_bw(np.zeros((1, 4, 4), np.float32))
