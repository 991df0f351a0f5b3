"""Shared fixtures: a tiny image folder and a tiny config, so every test runs in seconds."""

from __future__ import annotations

import pytest
import torch

from artistry.config import Config
from helpers import PooledPixels, write_image_folder

torch.set_num_threads(1)  # the machine has 2 cores; tests stay predictable when run beside other work


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


@pytest.fixture
def stub_inception(monkeypatch):
    import artistry.metrics.features as features

    PooledPixels.instances.clear()
    monkeypatch.setattr(features, "InceptionFeatures", PooledPixels)
    return PooledPixels
