"""How many of a run's samples does the pixel memorisation test flag, by distance and by ratio?

The pixel test once flagged a sample when its RMS distance to the nearest training image was
below the 5th percentile of real images' (leave-one-out on the training set). Blurry samples
pass that easily: a washed-out beige field is near every painting with a plain ground. The test
now divides that distance by the mean distance to the next neighbours (see
`artistry.metrics.memorization`). This scores a run's `bench quality` samples (seeds 0..n-1)
both ways, on pixels alone (no Inception pass: the cosine half of the check is unchanged), and
writes RUN/eval/pixel-recheck.png: the samples the old test flagged and the new one does not,
each beside its nearest training image, to look at.

    PYTHONPATH=src .venv/bin/python benchmarks/pixel_copies_recheck.py RUN [RUN ...] [--n 2000]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from artistry import api
from artistry.data import prepare_dataset
from artistry.io.images import make_grid, save_png
from artistry.metrics.memorization import DEFAULT_PERCENTILE, calibration_subset, pixel_nearest


def recheck(run: str, n: int, seed: int = 0) -> dict:
    loaded = api.load(run)
    d = loaded.config.data
    train = prepare_dataset(d.path, size=d.size, fit=d.fit, channels=d.channels, cache_dir=d.cache_dir).images
    generated = loaded.generate(n, seed=seed)
    pick = calibration_subset(len(train), np.random.default_rng(seed))  # as `check_memorization` draws it
    real = pixel_nearest(train[pick], train, query_index=pick)
    ours = pixel_nearest(generated, train)
    old = ours.distance < np.percentile(real.distance, DEFAULT_PERCENTILE)
    new = ours.ratio < np.percentile(real.ratio, DEFAULT_PERCENTILE)
    only_old = np.flatnonzero(old & ~new)[:16]
    if len(only_old):
        pairs = np.concatenate([generated[only_old], train[ours.index[only_old]]], axis=3)
        save_png(make_grid(pairs, nrow=4, padding=8), Path(run) / "eval" / "pixel-recheck.png")
    return {
        "run": Path(run).name,
        "images_seen": loaded.images_seen,
        "old": float(old.mean()),
        "new": float(new.mean()),
        "median_ratio": float(np.median(ours.ratio)),
        "real_median_ratio": float(np.median(real.ratio)),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+")
    p.add_argument("--n", type=int, default=2000)
    args = p.parse_args()
    print("| run | images seen | flagged by distance (old) | flagged by ratio (new) | median ratio (real) |")
    print("|---|---|---|---|---|")
    for run in args.runs:
        r = recheck(run, args.n)
        print(
            f"| {r['run']} | {r['images_seen'] / 1000:.1f}k | {r['old']:.1%} | {r['new']:.1%} "
            f"| {r['median_ratio']:.3f} ({r['real_median_ratio']:.3f}) |",
            flush=True,
        )


if __name__ == "__main__":
    main()
