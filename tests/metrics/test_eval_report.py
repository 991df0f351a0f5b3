"""The report: every metric present, counts and protocol stated, files written, real side cached.

A stand-in extractor (pooled pixels as "features") keeps these tests fast; the metrics
themselves are tested with real Inception features elsewhere.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from artistry.metrics.report import ImageSet, cached_real_features, compute_report, write_report
from artistry.metrics.stats_cache import RealFeatureCache
from helpers import PooledPixels as _PooledPixels


def PooledPixels():
    return _PooledPixels(pool=8)


def images(n, seed):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, size=(n, 3, 1, 1))
    return np.clip(base + rng.normal(0, 30, size=(n, 3, 32, 32)), 0, 255).astype(np.uint8)


@pytest.fixture
def report(tmp_path):
    train = images(40, 0)
    generated = np.concatenate([train[:5], images(25, 1)])  # 5 copies of training images
    return compute_report(
        generated,
        ImageSet(train, source="toy"),
        extractor=PooledPixels(),
        kid_subsets=20,
        sheet_path=tmp_path / "eval" / "nearest.png",
    )


def test_report_has_every_metric_and_its_settings(report):
    assert {"fid", "kid", "precision", "recall", "density", "coverage", "memorization"} <= report.keys()
    assert (report["n_generated"], report["n_real"], report["protocol"]) == (30, 40, "legacy")
    assert report["resolution"] == "32x32" and "inception" in report["network"]
    assert report["kid"]["subset_size"] == 30 and report["kid"]["subsets"] == 20
    assert report["fid"] > 0
    assert report["memorization"]["share_flagged"] >= 5 / 30
    assert all(pair["pixel_rms"] == 0 for pair in report["memorization"]["closest_pairs"][:5])
    json.dumps(report)  # JSON-ready


def test_written_report_states_counts_protocol_and_vgg_note(report, tmp_path):
    report["step"] = 1200
    json_path, md_path = write_report(report, tmp_path / "eval", "000001200")
    assert json.loads(json_path.read_text())["fid"] == report["fid"]
    md = md_path.read_text()
    for expected in (
        "step 1200",
        "generated images: 30",
        "real images: 40",
        "protocol: legacy",
        "VGG16",
        "KID",
        "nearest.png",
        "Memorisation",
    ):
        assert expected in md, expected
    assert sorted(p.name for p in (tmp_path / "eval").iterdir()) == ["000001200.json", "000001200.md", "nearest.png"]


def test_real_features_are_computed_once_then_cached(tmp_path):
    extractor, cache, train = PooledPixels(), RealFeatureCache(tmp_path / "cache"), images(40, 0)
    first, hit1 = cached_real_features(ImageSet(train), "legacy", extractor, cache)
    second, hit2 = cached_real_features(ImageSet(train), "legacy", extractor, cache)
    assert (hit1, hit2, extractor.images_seen) == (False, True, 40)
    np.testing.assert_allclose(first.features, second.features, rtol=1e-6)  # stored as float32
    report = compute_report(images(20, 2), second, extractor=extractor, kid_subsets=5)
    assert extractor.images_seen == 60  # only the generated side was extracted
    assert report["n_real"] == 40


def test_clean_protocol_is_recorded(tmp_path):
    report = compute_report(
        images(12, 3), ImageSet(images(12, 4)), protocol="clean", extractor=PooledPixels(), kid_subsets=5
    )
    assert report["protocol"] == "clean"


def test_real_set_without_features_is_extracted_once():
    extractor = PooledPixels()
    compute_report(images(10, 5), ImageSet(images(15, 6)), extractor=extractor, kid_subsets=5)
    assert extractor.images_seen == 10 + 15
