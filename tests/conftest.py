"""Shared fixtures: a tiny image folder and a tiny config, so every test runs in seconds."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from artistry.config import Config

torch.set_num_threads(1)  # the machine has 2 cores; tests stay predictable when run beside other work


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


@pytest.fixture
def image_folder(tmp_path):
    return write_image_folder(tmp_path / "images")


@pytest.fixture
def tiny_config(image_folder, tmp_path) -> Config:
    """DCGAN at 32 px with narrow layers: a few steps take well under a second."""
    cfg = Config()
    cfg.data.path = str(image_folder)
    cfg.data.size = 32
    cfg.data.cache_dir = str(tmp_path / "cache")
    cfg.model.ngf = 8
    cfg.model.ndf = 8
    cfg.model.nz = 16
    cfg.train.batch = 8
    cfg.train.steps = 4
    cfg.train.precision = "fp32"
    cfg.train.n_samples = 4
    cfg.train.runs_dir = str(tmp_path / "runs")
    return cfg
