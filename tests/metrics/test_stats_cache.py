"""Stats files and the real-feature cache: round trip, hit, miss, corrupted file recomputed."""

from __future__ import annotations

import numpy as np
import pytest

from artistry.errors import ArtistryError, ConfigError
from artistry.metrics.stats_cache import (
    FeatureSet,
    RealFeatureCache,
    feature_set_for,
    images_key,
    load_feature_set,
    resolution_of,
    save_feature_set,
)


def features(n=12, seed=0):
    return np.random.default_rng(seed).normal(size=(n, 2048)).astype(np.float32).astype(np.float64)


class CountingCompute:
    """Stands in for Inception: returns fixed features and counts calls."""

    def __init__(self, n=12):
        self.calls, self.n = 0, n

    def __call__(self):
        self.calls += 1
        return features(self.n)


def test_round_trip_keeps_features_and_metadata(tmp_path):
    original = FeatureSet(features(), "clean", "64x64", source="my/folder")
    path = save_feature_set(tmp_path / "s.npz", original)
    loaded = load_feature_set(path)
    np.testing.assert_array_equal(loaded.features, original.features)
    assert (loaded.protocol, loaded.resolution, loaded.source, loaded.n) == ("clean", "64x64", "my/folder", 12)
    assert [p.name for p in tmp_path.iterdir()] == ["s.npz"]  # no temp file left behind


def test_cache_miss_then_hit(tmp_path):
    cache, compute = RealFeatureCache(tmp_path), CountingCompute()
    first, hit1 = cache.get("abc123", "legacy", "64x64", compute)
    second, hit2 = cache.get("abc123", "legacy", "64x64", compute)
    assert (hit1, hit2, compute.calls) == (False, True, 1)
    np.testing.assert_array_equal(first.features, second.features)


def test_protocol_resolution_key_and_count_each_get_their_own_entry(tmp_path):
    cache, compute = RealFeatureCache(tmp_path), CountingCompute()
    cache.get("abc123", "legacy", "64x64", compute)
    cache.get("abc123", "clean", "64x64", compute)
    cache.get("abc123", "legacy", "32x32", compute)
    cache.get("def456", "legacy", "64x64", compute)
    assert compute.calls == 4
    assert cache.get("abc123", "legacy", "64x64", compute, n=99)[1] is False  # other count: recomputed


def test_corrupted_cache_file_is_recomputed(tmp_path):
    cache, compute = RealFeatureCache(tmp_path), CountingCompute()
    cache.get("abc123", "legacy", "64x64", compute)
    path = cache.path("abc123", "legacy", "64x64")
    path.write_bytes(path.read_bytes()[:1000])  # truncated, as by a crash mid-copy
    repaired, hit = cache.get("abc123", "legacy", "64x64", compute)
    assert (hit, compute.calls) == (False, 2)
    np.testing.assert_array_equal(repaired.features, features())
    assert cache.get("abc123", "legacy", "64x64", compute)[1] is True


def test_unreadable_stats_file_names_the_file(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ArtistryError, match="bad.npz"):
        load_feature_set(bad)


def test_stats_file_with_another_protocol_is_refused(tmp_path):
    path = save_feature_set(tmp_path / "s.npz", FeatureSet(features(), "legacy", "64x64"))
    with pytest.raises(ConfigError, match="--protocol legacy"):
        feature_set_for(path, "clean", extractor=None)


def test_images_key_depends_on_content_and_shape():
    a = np.zeros((2, 3, 4, 4), np.uint8)
    b = a.copy()
    b[1, 2, 3, 3] = 1
    assert images_key(a) == images_key(a.copy()) != images_key(b)
    assert images_key(a) != images_key(a.reshape(2, 3, 2, 8))


def test_resolution_of_mixed_sizes():
    assert resolution_of(np.zeros((2, 3, 8, 6), np.uint8)) == "8x6"
    assert resolution_of([np.zeros((3, 8, 8)), np.zeros((3, 4, 4))]) == "mixed"
