"""Training throughput of one process vs `--nproc 2` (two gloo processes) on this CPU.

    PYTHONPATH=src python benchmarks/ddp_cpu_scaling.py [--steps 40] [--size 32] [--batch 32] [--repeats 2]

Each run is `artistry train data/demo ...` in a fresh process (torchrun for two); the rate is
images seen / training seconds from the final checkpoint (set-up and process start excluded).
One process runs with every core's thread and with one thread; each of two processes gets half
of the cores (OMP_NUM_THREADS), as `--nproc` sets it.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one_run(n: int, threads: int | None, args, tmp: Path) -> float:
    runs = tmp / f"runs-{n}-{len(list(tmp.glob('runs-*')))}"
    cmd = [
        sys.executable,
        "-m",
        "artistry",
        "train",
        str(ROOT / "data/demo"),
        "--recipe",
        "classic",
        "--size",
        str(args.size),
        "--batch",
        str(args.batch),
        "--steps",
        str(args.steps),
        "--device",
        "cpu",
        "--precision",
        "fp32",
        "--n-samples",
        "16",
        "--runs-dir",
        str(runs),
        "--cache-dir",
        str(tmp / "cache"),
        "--quiet",
    ] + (["--nproc", str(n)] if n > 1 else [])
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    from artistry.io import checkpoint as ckpt

    (run_dir,) = runs.iterdir()
    _, meta = ckpt.load(ckpt.list_checkpoints(run_dir / "checkpoints")[-1][1])
    return meta["images_seen"] / meta["elapsed"]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--repeats", type=int, default=2)
    args = p.parse_args()
    cores = os.cpu_count() or 1
    setups = {
        f"1 process, {cores} threads": (1, cores),
        "1 process, 1 thread": (1, 1),
        f"2 processes, {max(1, cores // 2)} thread(s) each": (2, None),
    }
    rates: dict[str, list[float]] = {name: [] for name in setups}
    with tempfile.TemporaryDirectory() as d:
        for _ in range(args.repeats):
            for name, (n, threads) in setups.items():  # interleaved, so a busy spell hits all of them
                rates[name].append(one_run(n, threads, args, Path(d)))
    print(f"machine: {platform.processor() or platform.machine()}, {cores} cores; command: {' '.join(sys.argv)}")
    for name, r in rates.items():
        print(f"{name}: " + ", ".join(f"{x:.1f}" for x in r) + f" img/s (best {max(r):.1f})")


if __name__ == "__main__":
    main()
