"""Cost of one full evaluation report: 2,000 generated images against cached real statistics.

    PYTHONPATH=src python benchmarks/eval_cost.py                 # full report, chosen settings
    PYTHONPATH=src python benchmarks/eval_cost.py --explore       # img/s of each extractor setting

The "generated" side is image-like: real paintings with random flips, shifts and pixel noise
(never exact copies), so every metric does its real amount of work. The real side's features are
cached under --cache-dir; the first run fills the cache (not timed as part of the report).
The default real folder is the development dataset paintings_a beside the checkout (not in the
repository; ARCHITECTURE.md, 'Development datasets', says how to get it).

--explore times the extractor settings on the same images, interleaved over several rounds so
that load from other processes hits every setting alike, and checks that each setting's features
equal the plain fp32 network's to float rounding.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from artistry.metrics.features import InceptionFeatures, read_image_folder
from artistry.metrics.report import ImageSet, cached_real_features, compute_report, write_report
from artistry.metrics.stats_cache import RealFeatureCache

DEFAULT_REAL = Path(__file__).parents[1] / ".." / "shared" / "data" / "paintings_a"


def image_like(real: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """n uint8 images [n, C, H, W] made from real ones: flipped, rolled by a few pixels, noised."""
    rng = np.random.default_rng(seed)
    out = real[rng.integers(0, len(real), n)].copy()
    flip = rng.random(n) < 0.5
    out[flip] = out[flip, :, :, ::-1]
    for i, (dy, dx) in enumerate(rng.integers(-6, 7, size=(n, 2))):
        out[i] = np.roll(out[i], (dy, dx), axis=(1, 2))
    noise = rng.normal(0, 6, size=out.shape)
    return np.clip(out + noise, 0, 255).astype(np.uint8)


def explore(images: np.ndarray, rounds: int) -> None:
    """img/s of each setting, interleaved over rounds; max |feature difference| to plain fp32.

    Also reports images per CPU-second of this process, which other processes' load distorts
    less than wall time.
    """
    settings = {
        "fp32 baseline (plain TorchScript, NCHW, batch 32)": (InceptionFeatures(fast=False, batch_size=32), True),
        "plain, batch 8": (InceptionFeatures(fast=False, batch_size=8), True),
        "plain, oneDNN off (im2col + BLAS), batch 16": (InceptionFeatures(fast=False, batch_size=16), False),
        "frozen + channels_last, batch 32": (InceptionFeatures(fast=True, batch_size=32), True),
        "frozen + channels_last, batch 16": (InceptionFeatures(fast=True, batch_size=16), True),
        "frozen + channels_last, batch 8": (InceptionFeatures(fast=True, batch_size=8), True),
    }
    wall = {name: [] for name in settings}
    cpu = {name: [] for name in settings}
    features = {}
    for extractor, mkldnn in settings.values():
        with torch.backends.mkldnn.flags(enabled=mkldnn):
            extractor.extract(images[:8])  # load, freeze, and let TorchScript's profiling runs pass
            extractor.extract(images[:8])
    for _ in range(rounds):
        for name, (extractor, mkldnn) in settings.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            with torch.backends.mkldnn.flags(enabled=mkldnn):
                features[name] = extractor.extract(images)
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    reference = features[next(iter(settings))]
    for name in settings:
        diff = np.abs(features[name] - reference).max()
        print(
            f"{name:52s} {len(images) / np.median(wall[name]):5.2f} img/s median wall "
            f"({len(images) / min(wall[name]):5.2f} best), {len(images) / np.median(cpu[name]):5.2f} img per "
            f"CPU-s, max |feature diff| {diff:.1e}",
            flush=True,
        )


def full_report(args) -> None:
    real = ImageSet(np.stack(read_image_folder(args.real)), source=str(args.real))
    generated = image_like(real.images, args.n)
    extractor = InceptionFeatures(batch_size=args.batch)
    cache = RealFeatureCache(args.cache_dir)
    start = time.perf_counter()
    real, hit = cached_real_features(real, args.protocol, extractor, cache)
    print(
        f"real features: {len(real.images)} images, {'cache hit' if hit else 'computed and cached'} "
        f"in {time.perf_counter() - start:.1f} s",
        flush=True,
    )

    out = Path(tempfile.mkdtemp(prefix="eval_cost_"))
    start = time.perf_counter()
    report = compute_report(
        generated, real, protocol=args.protocol, extractor=extractor, sheet_path=out / "nearest.png"
    )
    write_report(report, out, "bench")
    total = time.perf_counter() - start
    gen_seconds = report["seconds"]["generated_features"]
    print(f"full report for {args.n} generated images: {total:.1f} s ({total / 60:.2f} min; budget 6 min)")
    print(f"  Inception on the generated side: {gen_seconds:.1f} s = {args.n / gen_seconds:.2f} img/s")
    print(f"  metrics (FID, KID, P/R/D/C, memorisation, sheet): {report['seconds']['metrics']:.1f} s")
    print(
        f"  FID {report['fid']:.3f}, KID {report['kid']['mean']:.5f} ± {report['kid']['std']:.5f}, "
        f"precision {report['precision']:.3f}, recall {report['recall']:.3f}, "
        f"flagged {report['memorization']['share_flagged']:.1%}"
    )
    print(f"  report written to {out}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--real", type=Path, default=DEFAULT_REAL, help="folder of real images [shared paintings_a]")
    p.add_argument("--n", type=int, default=2000, help="generated images [2000]")
    p.add_argument("--batch", type=int, default=8, help="Inception batch size [8]")
    p.add_argument("--protocol", default="legacy")
    p.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "artistry_eval_cost_cache")
    p.add_argument("--threads", type=int, default=2, help="torch threads [2 = the cores here]")
    p.add_argument("--explore", action="store_true", help="compare extractor settings instead")
    p.add_argument("--explore-n", type=int, default=32, help="images per setting and round [32]")
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads", flush=True)
    if args.explore:
        real = np.stack(read_image_folder(args.real)[: args.explore_n])
        explore(image_like(real, args.explore_n), args.rounds)
    else:
        full_report(args)


if __name__ == "__main__":
    main()
