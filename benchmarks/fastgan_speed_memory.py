"""Training speed and peak memory of the `hires` recipe (FastGAN) at 128, 256, 512 and 1024 px.

Each (size, batch) runs in a fresh process on synthetic images, so its peak RSS is its own:
one full training step (critic with the reconstruction term, generator, EMA) at the recipe's
widths, `--warmup` untimed steps, then `--steps` timed one by one: the median, and the fastest
step, which is the better guess of an undisturbed machine's speed when other jobs share it. Two
batches per size give the memory per image (the slope) and a fixed part (weights, optimizer,
the interpreter); the largest batch that fits a RAM budget is extrapolated from those two
points, not measured.

    .venv/bin/python benchmarks/fastgan_speed_memory.py [--sizes 128,256,512,1024] [--steps 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

BATCHES = {128: (4, 16), 256: (4, 12), 512: (2, 6), 1024: (1, 3)}
GIB = 1024**3


def child(size: int, batch: int, steps: int, warmup: int, precision: str) -> dict:
    import torch

    from artistry.bench.speed import _ours, machine_description
    from artistry.config import Config

    torch.manual_seed(0)
    cfg = Config()
    cfg.train.precision, cfg.train.device = precision, "cpu"
    step, runtime = _ours(cfg, "hires", batch, size)
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return {
        "size": size,
        "batch": batch,
        "img_s": batch / statistics.median(times),
        "best_img_s": batch / min(times),
        "precision": runtime.precision,
        "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,  # Linux: KiB
        "machine": machine_description(runtime),
    }


def measure(size: int, batch: int, args) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        f"{size},{batch}",
        "--steps",
        str(args.steps),
        "--warmup",
        str(args.warmup),
        "--precision",
        args.precision,
    ]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="128,256,512,1024")
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--precision", default="auto")
    p.add_argument("--ram-gib", type=float, default=24.0)
    p.add_argument("--child", default="")
    args = p.parse_args()
    if args.child:
        size, batch = map(int, args.child.split(","))
        print(json.dumps(child(size, batch, args.steps, args.warmup, args.precision)))
        return
    rows, machine = [], ""
    for size in map(int, args.sizes.split(",")):
        small, big = (measure(size, b, args) for b in BATCHES[size])
        machine = small["machine"]
        per_image = max(1.0, (big["peak_rss"] - small["peak_rss"]) / (big["batch"] - small["batch"]))
        fixed = small["peak_rss"] - small["batch"] * per_image
        fits = int((args.ram_gib * GIB - fixed) // per_image)
        rows.append((size, big, per_image, fixed, fits))
        print(
            f"{size} px: batch {small['batch']} {small['img_s']:.2f} img/s {small['peak_rss'] / GIB:.2f} GiB | "
            f"batch {big['batch']} {big['img_s']:.2f} (fastest step {big['best_img_s']:.2f}) img/s "
            f"{big['peak_rss'] / GIB:.2f} GiB",
            flush=True,
        )
    from artistry.recipes import RECIPES

    hires = RECIPES["hires"]
    print(
        f"\nhires recipe ({hires['model']}, ngf {hires['ngf']}, ndf {hires['ndf']}, nz {hires['nz']}), "
        f"{rows[0][1]['precision']}, {machine}, {args.steps} timed steps after {args.warmup} warm-up\n"
    )
    print(
        f"| size | batch | img/s (median step) | img/s (fastest step) | peak RSS (GiB) | memory per image (MiB) "
        f"| fixed part (GiB) | largest batch in {args.ram_gib:g} GiB (extrapolated) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for size, big, per_image, fixed, fits in rows:
        print(
            f"| {size} | {big['batch']} | {big['img_s']:.2f} | {big['best_img_s']:.2f} | "
            f"{big['peak_rss'] / GIB:.2f} | {per_image / 2**20:.0f} | {fixed / GIB:.2f} | {fits} |"
        )


if __name__ == "__main__":
    main()
