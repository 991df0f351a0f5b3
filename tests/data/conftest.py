"""Fixtures for the data pipeline tests: small image files of every awkward kind, in tmp_path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def solid(color, size=(24, 24)) -> Image.Image:
    return Image.new("RGB", size, color)


def write(path: Path, image: Image.Image, **save_args) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **save_args)
    return path


@pytest.fixture
def image_folder(tmp_path) -> Path:
    """A dataset folder: 6 images in cats/, 4 in dogs/ (one nested deeper), 2 at the top level,
    plus files that must be skipped or ignored."""
    root = tmp_path / "art"
    rng = np.random.default_rng(0)
    for i in range(6):
        write(root / "cats" / f"cat{i}.png", Image.fromarray(rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)))
    for i in range(3):
        write(root / "dogs" / f"dog{i}.jpg", solid((40 * i, 100, 200), (40, 40)))
    write(root / "dogs" / "puppies" / "puppy.webp", solid(GREEN, (40, 40)), lossless=True)
    write(root / "top0.bmp", solid(BLUE, (40, 40)))
    write(root / "top1.tiff", solid(RED, (40, 40)))
    # to be skipped with a reason
    (root / "cats" / "empty.png").write_bytes(b"")
    (root / "cats" / "notes.png").write_text("not really a png")
    (root / "cats" / "sketch.heic").write_bytes(b"\0\0\0\x18ftypheic")
    noise = write(tmp_path / "noise.jpg", Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)))
    jpeg = noise.read_bytes()
    (root / "dogs" / "broken.jpg").write_bytes(jpeg[: len(jpeg) * 2 // 3])  # cut inside the scan data
    # to be ignored entirely
    (root / "readme.txt").write_text("hello")
    write(root / ".thumbnails" / "thumb.png", solid(RED))
    write(root / "cats" / ".hidden.png", solid(RED))
    return root
