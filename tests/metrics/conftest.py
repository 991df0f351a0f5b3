"""Real-image fixtures for the metric tests, built once per session because Inception is slow on CPU.

Two disjoint folders of 30 paintings from ../shared/data/paintings_a (the development dataset beside
the checkout, not in the repository; ARCHITECTURE.md, 'Development datasets', says how to get it)
are copied to a temp dir; their features come from one `artistry fid A B --save-stats` run and are reused by every test.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from artistry.cli.commands import fid

PAINTINGS = Path(__file__).parents[2] / ".." / "shared" / "data" / "paintings_a"
N_PER_FOLDER = 30


@contextlib.contextmanager
def torch_threads(n: int):
    """Use n threads inside the block: the root conftest pins 1, Inception wants both cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def parse_command_args(command, argv: list[str]):
    """Parse argv with one command module's own parser (as the CLI main would)."""
    parser = argparse.ArgumentParser(prog=f"artistry {command.NAME}")
    command.add_arguments(parser)
    return parser.parse_args(argv)


@pytest.fixture(scope="session")
def painting_folders(tmp_path_factory) -> tuple[Path, Path]:
    """Folders A and B, 30 PNGs each, taken alternately from an evenly spaced pick of paintings."""
    if not PAINTINGS.is_dir():
        pytest.skip(
            f"real test images not found at {PAINTINGS.resolve()} (the development dataset paintings_a "
            "beside the checkout; ARCHITECTURE.md, 'Development datasets', says how to get it)"
        )
    files = sorted(PAINTINGS.rglob("*.png"))
    picked = files[:: len(files) // (2 * N_PER_FOLDER)][: 2 * N_PER_FOLDER]
    root = tmp_path_factory.mktemp("paintings")
    folders = root / "A", root / "B"
    for i, path in enumerate(picked):
        target = folders[i % 2] / f"{path.parent.name}_{path.name}"
        target.parent.mkdir(exist_ok=True)
        shutil.copy(path, target)
    return folders


@pytest.fixture(scope="session")
def painting_images(painting_folders) -> tuple[np.ndarray, np.ndarray]:
    """uint8 [30, 3, 128, 128] for A and B, in the order `read_image_folder` reads them."""
    from artistry.metrics.features import read_image_folder

    return tuple(np.stack(read_image_folder(folder)) for folder in painting_folders)


@pytest.fixture(scope="session")
def cli_fid_run(painting_folders, tmp_path_factory) -> dict:
    """`artistry fid A B --save-stats DIR` once: its printed FID and the saved features of A and B."""
    from artistry.metrics.stats_cache import load_feature_set

    stats_dir = tmp_path_factory.mktemp("stats")
    args = parse_command_args(fid, [str(painting_folders[0]), str(painting_folders[1]), "--save-stats", str(stats_dir)])
    out = io.StringIO()
    with torch_threads(2), contextlib.redirect_stdout(out):
        assert fid.run(args) == 0
    return {
        "stdout": out.getvalue(),
        "fid": float(out.getvalue().split()[1]),
        "stats_a": stats_dir / "A.npz",
        "stats_b": stats_dir / "B.npz",
        "features_a": load_feature_set(stats_dir / "A.npz").features,
        "features_b": load_feature_set(stats_dir / "B.npz").features,
    }


@pytest.fixture(scope="session")
def extractor():
    from artistry.metrics.features import InceptionFeatures

    return InceptionFeatures()


@pytest.fixture(scope="session")
def threads():
    """The `torch_threads(n)` context manager, for tests that run Inception themselves."""
    return torch_threads


@pytest.fixture(scope="session")
def parse_args():
    """The `parse_command_args(command_module, argv)` helper."""
    return parse_command_args
