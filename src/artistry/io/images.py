"""Write images: uint8 arrays to PIL, PNG files, sample grids and looping GIFs.

Arrays are uint8 [C, H, W] with C = 1 (greyscale) or 3 (RGB), the layout of the dataset cache.
Files are written atomically (temp file + os.replace) so a crash never leaves half an image.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from .atomic import write_atomic

GRID_PAD_VALUE = 255  # white between grid cells: artworks read better on white than black


def to_pil(image: np.ndarray) -> Image.Image:
    """Turn a uint8 array [C, H, W] (C = 1 or 3) into a PIL image ("L" or "RGB").

    Args:
        image: uint8 array [C, H, W].
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[0] not in (1, 3):
        raise ValueError(f"expected an array [C, H, W] with C = 1 or 3, got shape {image.shape}")
    if image.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels, got {image.dtype}")
    if image.shape[0] == 1:
        return Image.fromarray(np.ascontiguousarray(image[0]), "L")
    return Image.fromarray(np.ascontiguousarray(image.transpose(1, 2, 0)), "RGB")  # [H, W, C]


def save_png(image: np.ndarray | Image.Image, path: str | os.PathLike) -> Path:
    """Save an image as PNG, atomically; parent folders are created.

    Args:
        image: uint8 array [C, H, W] or a PIL image.
        path: where to write.

    Returns:
        The path written.
    """
    pil = image if isinstance(image, Image.Image) else to_pil(image)
    return _write_atomically(Path(path), lambda file: pil.save(file, format="PNG"))


def make_grid(
    images: np.ndarray, nrow: int | None = None, padding: int = 2, pad_value: int = GRID_PAD_VALUE
) -> np.ndarray:
    """Tile a batch of images into one image, row by row, with padding around every cell.

    Args:
        images: uint8 array [N, C, H, W].
        nrow: images per row; default ceil(sqrt(N)), i.e. a square-ish grid.
        padding: pixels between cells and around the border.
        pad_value: grey level of the padding (255 = white).

    Returns:
        uint8 array [C, rows * (H + padding) + padding, nrow * (W + padding) + padding].
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[0] == 0:
        raise ValueError(f"expected a non-empty array [N, C, H, W], got shape {images.shape}")
    count, channels, height, width = images.shape
    nrow = min(nrow or math.ceil(math.sqrt(count)), count)
    rows = math.ceil(count / nrow)
    grid = np.full(
        (channels, rows * (height + padding) + padding, nrow * (width + padding) + padding), pad_value, dtype=np.uint8
    )  # [C, H_grid, W_grid]
    for index in range(count):
        top = padding + (index // nrow) * (height + padding)
        left = padding + (index % nrow) * (width + padding)
        grid[:, top : top + height, left : left + width] = images[index]
    return grid


def tensor_to_uint8(x) -> np.ndarray:
    """Map a float tensor in [-1, 1] to uint8 pixels: round to nearest, clamp out-of-range values.

    Args:
        x: torch tensor [N, C, H, W] (any device, grad or not) with values nominally in [-1, 1].

    Returns:
        numpy uint8 array [N, C, H, W].
    """
    pixels = ((x.detach().float() + 1.0) * 127.5).round().clamp(0, 255)
    return pixels.to("cpu").numpy().astype(np.uint8)


def save_gif(frames: Sequence[np.ndarray | Image.Image], path: str | os.PathLike, fps: float = 4.0) -> Path:
    """Save frames as a GIF that loops forever, atomically.

    Args:
        frames: uint8 arrays [C, H, W] or PIL images, all the same size.
        path: where to write.
        fps: frames per second (GIF stores a delay in milliseconds per frame).

    Returns:
        The path written.
    """
    if not frames:
        raise ValueError("save_gif needs at least one frame")
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    pil_frames = [(f if isinstance(f, Image.Image) else to_pil(f)).convert("RGB") for f in frames]
    duration_ms = max(20, round(1000 / fps))  # browsers treat delays under 20 ms as 100 ms

    def write(file):
        pil_frames[0].save(
            file, format="GIF", save_all=True, append_images=pil_frames[1:], duration=duration_ms, loop=0
        )

    return _write_atomically(Path(path), write)


def _write_atomically(path: Path, write) -> Path:
    return write_atomic(path, write)
