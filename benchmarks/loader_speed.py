"""How fast does BatchLoader deliver training batches? (Not a test: prints images per second.)

The loader must deliver at least 10x the training rate; a DCGAN-64 at batch 64 trains at roughly
100-300 img/s on a 2-core CPU, so thousands of img/s are the goal.

    PYTHONPATH=src python benchmarks/loader_speed.py [--data ../shared/data/paintings_a] [--seconds 3]

The default folder is the development dataset paintings_a beside the checkout (not in the
repository; ARCHITECTURE.md, 'Development datasets', says how to get it); any image folder works.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch

from artistry.data.cache import prepare_dataset
from artistry.data.loader import BatchLoader

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "paintings_a"
CASES = [  # (size, batch, mirror, channels_last)
    (64, 64, False, False),
    (64, 64, True, True),  # what `artistry train` uses with --mirror
    (128, 64, False, False),
    (128, 64, True, True),
]


def images_per_second(loader: BatchLoader, seconds: float) -> float:
    """Draw batches for about `seconds` (after a short warm-up) and return images per second."""
    for _ in range(3):
        next(loader)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        batch = next(loader)
        count += batch.shape[0]
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="image folder (default ../shared/data/paintings_a)"
    )
    parser.add_argument("--cache-dir", type=Path, default=None, help="default: a temporary folder")
    parser.add_argument("--seconds", type=float, default=3.0, help="timing per case")
    args = parser.parse_args()

    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
        f"data {args.data.resolve()}"
    )
    with tempfile.TemporaryDirectory() as temp:
        cache_dir = args.cache_dir or Path(temp)
        for size, batch, mirror, channels_last in CASES:
            start = time.perf_counter()
            dataset = prepare_dataset(args.data, size=size, cache_dir=cache_dir)
            prepare_s = time.perf_counter() - start
            loader = BatchLoader(dataset.images, batch, seed=0, mirror=mirror, channels_last=channels_last)
            rate = images_per_second(loader, args.seconds)
            print(
                f"{size:4d} px  batch {batch}  mirror={mirror!s:5}  channels_last={channels_last!s:5}  "
                f"{rate:9,.0f} img/s   (N={len(dataset)}, prepare {prepare_s:.1f} s"
                f"{', cache reused' if dataset.reused else ''})"
            )


if __name__ == "__main__":
    main()
