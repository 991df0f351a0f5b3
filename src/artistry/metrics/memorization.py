"""Memorisation check: is each generated image closer to a training image than real images are?

For every generated image we find its nearest training image twice: by Inception cosine distance
(content / style copies) and by pixel RMS distance (near-exact copies). The thresholds are
calibrated on real images that the model did not memorise: a low percentile of the distances from
held-out real images to their nearest training image (or, when every image was used for
training, from each training image to its nearest *other* training image). A model that
generalises like fresh real data gets about `percentile`% of its samples flagged; much more means
it reproduces training images.

The pixel measure is relative: the nearest image's RMS distance divided by the mean distance to
the next NEIGHBOURS training images (the ratio test of Carlini et al., "Extracting Training Data
from Diffusion Models", 2023). Why not the plain distance: pixel RMS rewards blur. A smooth,
washed-out sample sits close to every painting with a plain background, closer than any real
image with brush strokes does, and was flagged as a "copy" of one of them; a copy is much nearer
to one image than to the rest, a blur about as near to all of them.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from ..errors import DataError

DEFAULT_PERCENTILE = 5.0
NEIGHBOURS = 10  # the nearest training image is compared with the mean of the next this many
MAX_CALIBRATION = 500  # calibration queries: enough for a 5th percentile, bounded cost on big sets
PIXEL_BLOCK = 256  # images per block in pixel distances: bounds memory to ~2 blocks of floats
SHEET_MIN_SIZE = 64  # small images are upscaled (nearest) so pairs stay readable


@dataclass
class Nearest:
    """Nearest reference item per query: `index` [M] into the reference set, `distance` [M]."""

    index: np.ndarray
    distance: np.ndarray
    ratio: np.ndarray | None = None  # [M] distance / mean distance to the next NEIGHBOURS items


@dataclass
class MemorizationResult:
    """Per-sample nearest training images plus the calibrated thresholds."""

    cosine: Nearest  # Inception cosine distance, 1 - cos, in [0, 2]
    pixel: Nearest  # pixel RMS distance on [0, 1] pixels, in [0, 1], and its ratio
    cosine_threshold: float
    pixel_threshold: float  # on the pixel ratio
    percentile: float
    calibration: str  # which real images set the thresholds

    @property
    def flagged(self) -> np.ndarray:
        """bool [M]: closer to the training set than the threshold by either measure."""
        return (self.cosine.distance < self.cosine_threshold) | (self.pixel.ratio < self.pixel_threshold)

    def closest(self, n: int) -> np.ndarray:
        """Indices of the n generated samples nearest to a training image (cosine), closest first."""
        return np.argsort(self.cosine.distance, kind="stable")[:n]

    def summary(self, n_closest: int = 8) -> dict:
        """JSON-ready dict: thresholds, shares flagged, and the closest pairs."""
        return {
            "percentile": self.percentile,
            "calibration": self.calibration,
            "expected_share_if_not_memorising": self.percentile / 100,
            "share_flagged": float(self.flagged.mean()),
            "inception_cosine": _measure_summary(self.cosine.distance, self.cosine_threshold),
            "pixel_ratio": {
                **_measure_summary(self.pixel.ratio, self.pixel_threshold),
                "neighbours": NEIGHBOURS,
                "median_rms": float(np.median(self.pixel.distance)),
            },
            "closest_pairs": [
                {
                    "generated": int(j),
                    "train": int(self.cosine.index[j]),
                    "cosine_distance": float(self.cosine.distance[j]),
                    "pixel_nearest_train": int(self.pixel.index[j]),
                    "pixel_rms": float(self.pixel.distance[j]),
                }
                for j in self.closest(n_closest)
            ],
        }


def _measure_summary(distance: np.ndarray, threshold: float) -> dict:
    return {
        "threshold": float(threshold),
        "share_flagged": float((distance < threshold).mean()),
        "min": float(distance.min()),
        "median": float(np.median(distance)),
    }


def check_memorization(
    gen_features: np.ndarray,
    gen_images: np.ndarray,
    train_features: np.ndarray,
    train_images: np.ndarray,
    held_out_features: np.ndarray | None = None,
    held_out_images: np.ndarray | None = None,
    percentile: float = DEFAULT_PERCENTILE,
    seed: int = 0,
) -> MemorizationResult:
    """Nearest training image of every generated image, and thresholds from real images.

    Args:
        gen_features: Inception features [M, D] of the generated images.
        gen_images: uint8 [M, C, H, W], the same size as the training images.
        train_features: features [N, D] of the training images.
        train_images: uint8 [N, C, H, W].
        held_out_features, held_out_images: real images not used in training ([K, D], [K, C, H, W]);
            without them, calibration is leave-one-out within the training set.
        percentile: threshold = this percentile of the real nearest-train distances.
        seed: picks the calibration subset when there are more than MAX_CALIBRATION real images.
    """
    if gen_images.shape[1:] != train_images.shape[1:]:
        raise DataError(
            f"generated images {list(gen_images.shape[1:])} and training images "
            f"{list(train_images.shape[1:])} must have the same size for the memorisation check"
        )
    rng = np.random.default_rng(seed)
    if held_out_features is not None and held_out_images is not None:
        pick = calibration_subset(len(held_out_features), rng)
        real_cos = cosine_nearest(held_out_features[pick], train_features).distance
        real_pix = pixel_nearest(held_out_images[pick], train_images).ratio
        calibration = f"{len(pick)} held-out real images vs the training set"
    else:
        pick = calibration_subset(len(train_features), rng)
        real_cos = cosine_nearest(train_features[pick], train_features, query_index=pick).distance
        real_pix = pixel_nearest(train_images[pick], train_images, query_index=pick).ratio
        calibration = f"{len(pick)} training images vs the other training images (leave-one-out)"
    return MemorizationResult(
        cosine=cosine_nearest(gen_features, train_features),
        pixel=pixel_nearest(gen_images, train_images),
        cosine_threshold=float(np.percentile(real_cos, percentile)),
        pixel_threshold=float(np.percentile(real_pix, percentile)),
        percentile=percentile,
        calibration=calibration,
    )


def calibration_subset(n: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of the real images that set the thresholds: all, or MAX_CALIBRATION drawn by `rng`."""
    return np.sort(rng.choice(n, MAX_CALIBRATION, replace=False)) if n > MAX_CALIBRATION else np.arange(n)


def cosine_nearest(queries: np.ndarray, reference: np.ndarray, query_index: np.ndarray | None = None) -> Nearest:
    """Nearest reference row by cosine distance 1 - cos for features [M, D] vs [N, D].

    Args:
        query_index: [M] position of each query inside `reference`, excluded from its own search.
    """
    q = _unit_rows(queries)
    r = _unit_rows(reference)
    distance = 1 - q @ r.T  # [M, N]
    if query_index is not None:
        distance[np.arange(len(q)), query_index] = np.inf
    index = distance.argmin(axis=1)
    return Nearest(index, np.clip(distance[np.arange(len(q)), index], 0, None))


def _unit_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def pixel_nearest(
    queries: np.ndarray, reference: np.ndarray, query_index: np.ndarray | None = None, neighbours: int = NEIGHBOURS
) -> Nearest:
    """Nearest reference image by pixel RMS distance (pixels scaled to [0, 1]), and its ratio to the
    mean distance of the next `neighbours` reference images (fewer when the reference is small).

    Works in blocks so memory stays bounded. The search uses the fast |a|^2 + |b|^2 - 2ab form in
    float32; the nearest distance is then recomputed exactly for the chosen pair, so an exact copy
    reads 0 (and its ratio 0).

    Args:
        queries: uint8 [M, C, H, W].
        reference: uint8 [N, C, H, W].
        query_index: [M] position of each query inside `reference`, excluded from its own search.
    """
    q_flat = queries.reshape(len(queries), -1)  # [M, P]
    r_flat = reference.reshape(len(reference), -1)  # [N, P]
    available = len(r_flat) - (query_index is not None)
    keep = max(1, min(neighbours + 1, available))  # the nearest and the next ones
    best = np.full((len(q_flat), keep), np.inf, np.float32)  # squared distances, unsorted
    best_index = np.zeros((len(q_flat), keep), np.int64)
    for r0 in range(0, len(r_flat), PIXEL_BLOCK):
        r = r_flat[r0 : r0 + PIXEL_BLOCK].astype(np.float32) / 255  # [b, P]
        r_sq = (r * r).sum(1)
        for q0 in range(0, len(q_flat), PIXEL_BLOCK):
            q = q_flat[q0 : q0 + PIXEL_BLOCK].astype(np.float32) / 255
            squared = (q * q).sum(1)[:, None] + r_sq[None, :] - 2 * q @ r.T  # [a, b]
            if query_index is not None:
                own = query_index[q0 : q0 + len(q)] - r0
                rows = np.flatnonzero((own >= 0) & (own < len(r)))
                squared[rows, own[rows]] = np.inf
            span = slice(q0, q0 + len(q))  # keep the `keep` smallest of those so far and this block's
            both = np.concatenate([best[span], squared], axis=1)
            both_index = np.concatenate([best_index[span], np.broadcast_to(r0 + np.arange(len(r)), squared.shape)], 1)
            pick = np.argpartition(both, keep - 1, axis=1)[:, :keep]
            best[span], best_index[span] = np.take_along_axis(both, pick, 1), np.take_along_axis(both_index, pick, 1)
    order = np.argsort(best, axis=1, kind="stable")
    best, best_index = np.take_along_axis(best, order, 1), np.take_along_axis(best_index, order, 1)
    index = best_index[:, 0]
    distance = np.empty(len(q_flat))
    for q0 in range(0, len(q_flat), PIXEL_BLOCK):
        diff = q_flat[q0 : q0 + PIXEL_BLOCK].astype(np.float32) - r_flat[index[q0 : q0 + PIXEL_BLOCK]]  # exact
        distance[q0 : q0 + len(diff)] = np.sqrt((diff.astype(np.float64) ** 2).mean(axis=1)) / 255
    if keep > 1:
        following = np.sqrt(np.clip(best[:, 1:].astype(np.float64), 0, None) / q_flat.shape[1]).mean(axis=1)
        ratio = distance / np.maximum(following, 1e-12)
    else:  # a single reference image: nothing to compare with, so only an exact copy counts
        ratio = np.where(distance == 0, 0.0, 1.0)
    return Nearest(index, distance, ratio)


def save_pairs_sheet(
    result: MemorizationResult,
    gen_images: np.ndarray,
    train_images: np.ndarray,
    path: str | os.PathLike,
    n_pairs: int = 16,
    pairs_per_row: int = 4,
) -> None:
    """PNG of the closest (generated | nearest training image) pairs, closest first, row by row.

    Args:
        result: from `check_memorization`.
        gen_images, train_images: the uint8 [N, C, H, W] arrays given to it.
        path: PNG to write (atomically).
    """
    from ..io.images import make_grid, save_png

    order = result.closest(n_pairs)
    gen = _upscale(gen_images[order])  # [n, C, H, W]
    train = _upscale(train_images[result.cosine.index[order]])
    gap = np.full(gen.shape[:3] + (max(2, gen.shape[3] // 32),), 255, np.uint8)  # thin white bar
    pairs = np.concatenate([gen, gap, train], axis=3)  # [n, C, H, 2W + gap]
    save_png(make_grid(pairs, nrow=pairs_per_row, padding=max(6, gen.shape[2] // 8)), path)


def _upscale(images: np.ndarray) -> np.ndarray:
    factor = math.ceil(SHEET_MIN_SIZE / images.shape[2])
    return images.repeat(factor, axis=2).repeat(factor, axis=3) if factor > 1 else images
