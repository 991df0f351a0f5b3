"""Helpers shared by several test modules (importable: pyproject puts tests/ on sys.path)."""

from __future__ import annotations

import numpy as np
from PIL import Image

# The CLI flags of `tiny_config` (conftest.py): DCGAN at 32 px with narrow layers, fp32.
TINY_FLAGS = "--size 32 --ngf 8 --ndf 8 --nz 16 --batch 8 --precision fp32 --n-samples 4".split()


class PooledPixels:
    """Stand-in for InceptionFeatures: 2048 'features' from pool x pool average-pooled pixels.

    Counts the images it sees (per instance) and keeps every instance, so tests can check
    which side was extracted and how often.
    """

    instances: list[PooledPixels] = []

    def __init__(self, device="cpu", batch_size=16, fast=True, pool: int = 4):
        self.images_seen, self.pool = 0, pool
        PooledPixels.instances.append(self)

    def extract(self, images, protocol="legacy", batch_size=None, progress=None):
        self.images_seen += len(images)
        n, c, h, w = images.shape
        k = self.pool
        pooled = images.astype(np.float64).reshape(n, c, k, h // k, k, w // k).mean(axis=(3, 5)) / 255
        flat = pooled.reshape(n, -1)  # [N, C * k * k]
        return np.tile(flat, (1, 2048 // flat.shape[1] + 1))[:, :2048]


def write_image_folder(root, n: int = 24, size: int = 40, labels=("a", "b"), seed: int = 0):
    """n small RGB PNGs with smooth random colour fields, split over label subfolders."""
    rng = np.random.default_rng(seed)
    for i in range(n):
        folder = root / labels[i % len(labels)]
        folder.mkdir(parents=True, exist_ok=True)
        base = rng.integers(0, 256, size=(1, 1, 3))
        ramp = np.linspace(0, 80, size)[None, :, None]
        img = np.clip(base + ramp + rng.normal(0, 10, (size, size, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(folder / f"img{i:03d}.png")
    return root
