"""Fixtures for the studio: one tiny trained run (made once per module) and an app around it."""

from __future__ import annotations

import shutil

import pytest

pytest.importorskip("starlette")

from artistry.config import Config  # noqa: E402
from helpers import write_image_folder  # noqa: E402


def tiny_cfg(images, tmp, steps=4) -> Config:
    cfg = Config()
    cfg.data.path = str(images)
    cfg.data.size = 32
    cfg.data.cache_dir = str(tmp / "cache")
    cfg.model.ngf = cfg.model.ndf = 8
    cfg.model.nz = 16
    cfg.train.batch = 8
    cfg.train.steps = steps
    cfg.train.precision = "fp32"
    cfg.train.n_samples = 4
    cfg.train.runs_dir = str(tmp / "runs")
    cfg.train.name = "tiny"
    return cfg


@pytest.fixture
def make_cfg():
    return tiny_cfg


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A folder with data/ (24 PNGs) and runs/00000-tiny (4 steps, checkpoint, samples)."""
    import artistry

    tmp = tmp_path_factory.mktemp("studio")
    write_image_folder(tmp / "data" / "paintings")
    artistry.train(tiny_cfg(tmp / "data" / "paintings", tmp), progress=False)
    return tmp


@pytest.fixture
def site(trained, tmp_path):
    """A fresh copy of the trained folder (tests may change it) and a test client for it."""
    from starlette.testclient import TestClient

    from artistry.studio.server import create_app

    root = tmp_path / "site"
    shutil.copytree(trained, root, symlinks=True)
    app = create_app(root / "runs", [root / "data"], env={"ARTISTRY_CACHE": str(root / "cache")}, background=False)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        client.root = root
        client.studio = app.state.studio
        yield client
