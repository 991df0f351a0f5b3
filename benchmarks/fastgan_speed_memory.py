"""Training speed and peak memory of the `hires` recipe (FastGAN) at 128, 256, 512 and 1024 px.

Each (size, batch) runs in a fresh process on synthetic images, so its peak memory is its own:
one full training step (critic with the reconstruction term, generator, EMA) at the recipe's
widths (or `--ngf`), `--warmup` untimed steps, then `--steps` timed one by one: the median, and
the fastest step, which is the better guess of an undisturbed machine's speed when other jobs
share it. Two batches per size give the memory per image (the slope) and a fixed part (weights,
optimizer, the interpreter); the largest batch that fits each memory budget is extrapolated from
those two points; `--check F` then runs a batch of F times the first budget's largest and
prints its measured peak beside the straight line's prediction. On a CPU memory is the
process's peak RSS; on a GPU it is the peak memory PyTorch's caching allocator reserved (what
the card must hold, short of the CUDA context itself, about 0.5 GiB).

    .venv/bin/python benchmarks/fastgan_speed_memory.py [--sizes 128,256,512,1024] [--steps 3]
    .venv/bin/python benchmarks/fastgan_speed_memory.py --sizes 256,1024 --check 0.5
    .venv/bin/python benchmarks/fastgan_speed_memory.py --device cuda --sizes 256,1024 --gib 16,80 --ngf 64
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

CPU_BATCHES = {128: (4, 16), 256: (4, 12), 512: (2, 6), 1024: (1, 3)}
GPU_BATCHES = {128: (16, 64), 256: (8, 32), 512: (4, 16), 1024: (2, 8)}
GIB = 1024**3


def child(size: int, batch: int, args) -> dict:
    import torch

    from artistry.bench.speed import _ours, machine_description
    from artistry.config import Config

    torch.manual_seed(0)
    cfg = Config()
    cfg.train.precision, cfg.train.device = args.precision, args.device
    widths = {"ngf": args.ngf, "ndf": args.ngf} if args.ngf else {}
    step, runtime = _ours(cfg, "hires", batch, size, widths)
    sync = torch.cuda.synchronize if runtime.is_cuda else (lambda: None)
    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.steps):
        sync()
        t0 = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - t0)
    if runtime.is_cuda:
        peak = torch.cuda.max_memory_reserved(runtime.device)
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    return {
        "size": size,
        "batch": batch,
        "img_s": batch / statistics.median(times),
        "best_img_s": batch / min(times),
        "precision": runtime.precision,
        "peak": peak,
        "machine": machine_description(runtime),
    }


def measure(size: int, batch: int, args, steps: int = 0) -> dict:
    cmd = [sys.executable, __file__, "--child", f"{size},{batch}", "--steps", str(steps or args.steps)]
    cmd += ["--warmup", str(args.warmup), "--precision", args.precision, "--device", args.device]
    cmd += ["--ngf", str(args.ngf)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def memory_line(a: dict, b: dict) -> tuple[float, float]:
    """(bytes per image, fixed bytes) of the straight line through two measured batches."""
    per_image = max(1.0, (b["peak"] - a["peak"]) / (b["batch"] - a["batch"]))
    return per_image, a["peak"] - a["batch"] * per_image


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="128,256,512,1024")
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--precision", default="auto")
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    p.add_argument("--ngf", type=int, default=0, help="G and D widths (0: the recipe's)")
    p.add_argument("--gib", default="", help="memory budgets (GiB) for the largest batch [CPU 24, GPU 16,80]")
    p.add_argument("--check", type=float, default=0.0, help="run F x the largest batch once to test the line")
    p.add_argument("--child", default="")
    args = p.parse_args()
    if args.child:
        size, batch = map(int, args.child.split(","))
        print(json.dumps(child(size, batch, args)))
        return
    gpu = args.device.startswith("cuda")
    budgets = [float(g) for g in (args.gib or ("16,80" if gpu else "24")).split(",")]
    batches = GPU_BATCHES if gpu else CPU_BATCHES
    rows, checks, machine = [], [], ""
    for size in map(int, args.sizes.split(",")):
        small, big = (measure(size, b, args) for b in batches[size])
        machine = small["machine"]
        per_image, fixed = memory_line(small, big)
        fits = [int((g * GIB - fixed) // per_image) for g in budgets]
        rows.append((size, big, per_image, fixed, fits))
        if args.check:
            run = measure(size, max(1, int(args.check * fits[0])), args, steps=1)
            slope, intercept = memory_line(small, run)  # the longer line: small batches overstate the slope
            checks.append((size, run, fixed + run["batch"] * per_image, int((budgets[0] * GIB - intercept) // slope)))
        print(
            f"{size} px: batch {small['batch']} {small['img_s']:.2f} img/s {small['peak'] / GIB:.2f} GiB | "
            f"batch {big['batch']} {big['img_s']:.2f} (fastest step {big['best_img_s']:.2f}) img/s "
            f"{big['peak'] / GIB:.2f} GiB",
            flush=True,
        )
    from artistry.recipes import RECIPES

    hires = RECIPES["hires"]
    ngf = args.ngf or hires["ngf"]
    memory = "peak reserved GPU memory" if gpu else "peak RSS"
    print(
        f"\nhires recipe ({hires['model']}, ngf {ngf}, ndf {ngf}, nz {hires['nz']}), {rows[0][1]['precision']}, "
        f"{machine}, {args.steps} timed steps after {args.warmup} warm-up; memory = {memory}\n"
    )
    fits_head = " | ".join(f"largest batch in {g:g} GiB (extrapolated)" for g in budgets)
    print(
        f"| size | batch | img/s (median step) | img/s (fastest step) | peak (GiB) | memory per image (MiB) "
        f"| fixed part (GiB) | {fits_head} |"
    )
    print("|---|---|---|---|---|---|---|" + "---|" * len(budgets))
    for size, big, per_image, fixed, fits in rows:
        print(
            f"| {size} | {big['batch']} | {big['img_s']:.2f} | {big['best_img_s']:.2f} | "
            f"{big['peak'] / GIB:.2f} | {per_image / 2**20:.0f} | {fixed / GIB:.2f} | "
            + " | ".join(str(f) for f in fits)
            + " |"
        )
    if checks:
        print(
            f"\n| size | check batch | measured peak (GiB) | the line's prediction (GiB) | img/s "
            f"| largest batch in {budgets[0]:g} GiB, line through the small batch and this run |"
        )
        print("|---|---|---|---|---|---|")
        for size, run, predicted, fit in checks:
            peak = run["peak"] / GIB
            print(f"| {size} | {run['batch']} | {peak:.2f} | {predicted / GIB:.2f} | {run['img_s']:.2f} | {fit} |")


if __name__ == "__main__":
    main()
