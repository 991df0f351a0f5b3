"""Feature statistics files (.npz) and the cache of real-image features.

A stats file holds the Inception features of one image set plus what is needed to never mix
incomparable numbers: the protocol, the image resolution, the network and the count. Mean and
covariance are derived from the features on load (the features are also what KID, precision /
recall and the memorisation check need). `artistry fid` / `kid` accept these files in place of
folders.

Real-image features are cached under <cache root>/eval/, one file per dataset key + protocol +
resolution, so evaluating a run again only costs the generated side. Files are written
atomically; a file that cannot be read, or whose metadata does not match, is recomputed.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ArtistryError, ConfigError, DataError
from ..io.atomic import write_atomic
from .features import FEATURE_DIM, NETWORK_NAME, read_image_folder
from .fid import feature_stats

STATS_FORMAT = 1  # bump when the file layout or the feature pipeline changes: old caches recompute


@dataclass
class FeatureSet:
    """Features of one image set and how they were made."""

    features: np.ndarray  # [N, 2048] float64
    protocol: str
    resolution: str  # "HxW" of the images before the Inception resize, "mixed" for folders of many sizes
    source: str = ""  # the folder or dataset key the images came from

    @property
    def n(self) -> int:
        return len(self.features)

    def stats(self) -> tuple[np.ndarray, np.ndarray]:
        """(mu [2048], sigma [2048, 2048]) in float64."""
        return feature_stats(self.features)


def resolution_of(images) -> str:
    """ "HxW" when every image [C, H, W] has the same size, else "mixed"."""
    sizes = {tuple(img.shape[-2:]) for img in images}
    if len(sizes) != 1:
        return "mixed"
    ((height, width),) = sizes
    return f"{height}x{width}"


def images_key(images: np.ndarray) -> str:
    """Content hash of a uint8 array [N, C, H, W] (shape included), for arrays without a dataset key."""
    digest = hashlib.sha256(repr(images.shape).encode())
    digest.update(np.ascontiguousarray(images).data)
    return digest.hexdigest()


def save_feature_set(path: str | os.PathLike, feature_set: FeatureSet) -> Path:
    """Write a stats file atomically (temp file in the same folder, fsync, os.replace)."""
    return write_atomic(
        path,
        lambda file: np.savez(
            file,
            format=STATS_FORMAT,
            network=NETWORK_NAME,
            protocol=feature_set.protocol,
            resolution=feature_set.resolution,
            source=feature_set.source,
            features=feature_set.features.astype(np.float32),
        ),
    )  # the network's own precision


def load_feature_set(path: str | os.PathLike) -> FeatureSet:
    """Read a stats file written by `save_feature_set`; ArtistryError naming the file if unusable."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            if int(data["format"]) != STATS_FORMAT or str(data["network"]) != NETWORK_NAME:
                raise ValueError("written by another version of artistry")
            features = data["features"].astype(np.float64)
            meta = str(data["protocol"]), str(data["resolution"]), str(data["source"])
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        raise ArtistryError(f"{path} is not a readable artistry stats file ({e})") from None
    if features.ndim != 2 or features.shape[1] != FEATURE_DIM or not np.isfinite(features).all():
        raise ArtistryError(f"{path} is not a readable artistry stats file (bad features {list(features.shape)})")
    return FeatureSet(features, *meta)


class RealFeatureCache:
    """Real-image features on disk, keyed by dataset key + protocol + resolution.

    Args:
        cache_dir: folder for the files; default <cache root>/eval ($ARTISTRY_CACHE or ~/.cache/artistry).
    """

    def __init__(self, cache_dir: str | os.PathLike | None = None):
        if cache_dir is None:
            from ..data.cache import default_cache_dir

            cache_dir = default_cache_dir() / "eval"
        self.cache_dir = Path(cache_dir)

    def path(self, dataset_key: str, protocol: str, resolution: str) -> Path:
        return self.cache_dir / f"real-{dataset_key[:16]}-{protocol}-{resolution}.npz"

    def get(
        self, dataset_key: str, protocol: str, resolution: str, compute: Callable[[], np.ndarray], n: int | None = None
    ) -> tuple[FeatureSet, bool]:
        """Cached features, or `compute()` them ([N, 2048]) and store them.

        Args:
            n: expected number of images; a cached file with another count is recomputed.

        Returns:
            (feature set, True if it came from the cache).
        """
        path = self.path(dataset_key, protocol, resolution)
        if path.is_file():
            try:
                cached = load_feature_set(path)
                same = (cached.protocol, cached.resolution, cached.source) == (protocol, resolution, dataset_key)
                if same and n in (None, cached.n):
                    return cached, True
            except ArtistryError:
                pass  # corrupted or stale: recompute and overwrite below
        fresh = FeatureSet(np.asarray(compute(), np.float64), protocol, resolution, source=dataset_key)
        save_feature_set(path, fresh)
        return fresh, False


def feature_set_for(path: str | os.PathLike, protocol: str, extractor, progress=None) -> FeatureSet:
    """Features of a folder of images (extracted now) or of a stats file (loaded).

    Args:
        path: folder of images, or a .npz written by `save_feature_set`.
        protocol: the protocol wanted; a stats file made with another one is refused.
        extractor: an `InceptionFeatures`, used for folders only.
        progress: called with (done, total) while extracting.
    """
    path = Path(path)
    if path.is_file():
        feature_set = load_feature_set(path)
        if feature_set.protocol != protocol:
            raise ConfigError(
                f"{path} holds features made with --protocol {feature_set.protocol}, "
                f"not {protocol}; numbers from different protocols are not comparable"
            )
        return feature_set
    if not path.exists():
        raise DataError(f"{path} does not exist (expected a folder of images or a stats .npz)")
    images = read_image_folder(path)
    return FeatureSet(
        extractor.extract(images, protocol, progress=progress), protocol, resolution_of(images), source=str(path)
    )
