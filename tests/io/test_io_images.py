"""Tests for artistry.io.images (named test_io_images so it does not clash with tests/data/test_images.py)."""

import numpy as np
import pytest
import torch
from PIL import Image

from artistry.io.images import make_grid, save_gif, save_png, tensor_to_uint8, to_pil


def random_images(count, channels=3, size=5, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (count, channels, size, size), dtype=np.uint8)


def test_to_pil_modes_and_pixel_layout():
    rgb = random_images(1)[0]  # [3, 5, 5]
    pil = to_pil(rgb)
    assert pil.mode == "RGB" and pil.size == (5, 5)
    assert pil.getpixel((4, 1)) == tuple(int(v) for v in rgb[:, 1, 4])  # (x, y) vs [C, y, x]
    grey = to_pil(random_images(1, channels=1)[0])
    assert grey.mode == "L"


@pytest.mark.parametrize(
    "bad", [np.zeros((2, 5, 5), np.uint8), np.zeros((5, 5), np.uint8), np.zeros((3, 5, 5), np.float32)]
)
def test_to_pil_rejects_other_shapes_and_dtypes(bad):
    with pytest.raises(ValueError):
        to_pil(bad)


def test_save_png_round_trips_and_leaves_no_temp_files(tmp_path):
    image = random_images(1)[0]
    path = save_png(image, tmp_path / "new" / "folder" / "a.png")
    assert path.exists()
    np.testing.assert_array_equal(np.asarray(Image.open(path)).transpose(2, 0, 1), image)
    save_png(random_images(1, seed=1)[0], path)  # overwrite in place
    np.testing.assert_array_equal(np.asarray(Image.open(path)).transpose(2, 0, 1), random_images(1, seed=1)[0])
    assert [p.name for p in path.parent.iterdir()] == ["a.png"]


def test_save_png_failure_keeps_the_old_file(tmp_path, monkeypatch):
    path = save_png(random_images(1)[0], tmp_path / "a.png")
    before = path.read_bytes()

    def broken_save(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(OSError):
        save_png(random_images(1, seed=1)[0], path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["a.png"]


def test_make_grid_places_cells_row_by_row_with_padding():
    images = random_images(5, size=4)
    grid = make_grid(images, nrow=3, padding=2)
    assert grid.shape == (3, 2 * (4 + 2) + 2, 3 * (4 + 2) + 2) and grid.dtype == np.uint8
    np.testing.assert_array_equal(grid[:, 2:6, 2:6], images[0])
    np.testing.assert_array_equal(grid[:, 2:6, 14:18], images[2])
    np.testing.assert_array_equal(grid[:, 8:12, 8:12], images[4])  # second row, second column
    assert (grid[:, :2] == 255).all() and (grid[:, 8:12, 14:18] == 255).all()  # border and empty cell


def test_make_grid_defaults_to_a_square_and_takes_a_pad_value():
    grid = make_grid(random_images(9, channels=1, size=3), padding=1, pad_value=128)
    assert grid.shape == (1, 13, 13)
    assert grid[0, 0, 0] == 128


def test_tensor_to_uint8_rounds_and_clamps():
    x = torch.tensor([-3.0, -1.0, -0.996, 0.0, 1.0, 2.5]).view(1, 1, 1, 6)
    assert tensor_to_uint8(x).tolist() == [[[[0, 0, 1, 128, 255, 255]]]]
    assert tensor_to_uint8(torch.zeros(2, 3, 4, 4, requires_grad=True)).dtype == np.uint8


def test_save_gif_loops_forever_at_the_given_speed(tmp_path):
    frames = [np.full((3, 8, 8), value, dtype=np.uint8) for value in (0, 128, 255)]
    frames.append(Image.new("RGB", (8, 8), (255, 0, 0)))
    path = save_gif(frames, tmp_path / "timelapse.gif", fps=5)
    with Image.open(path) as gif:
        assert gif.n_frames == 4 and gif.info["loop"] == 0 and gif.info["duration"] == 200
        gif.seek(3)
        assert gif.convert("RGB").getpixel((4, 4)) == (255, 0, 0)
    assert [p.name for p in tmp_path.iterdir()] == ["timelapse.gif"]


def test_save_gif_needs_frames(tmp_path):
    with pytest.raises(ValueError):
        save_gif([], tmp_path / "x.gif")
