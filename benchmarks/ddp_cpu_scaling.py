"""Training throughput of one process vs `--nproc 2` (two gloo processes) on this CPU.

    PYTHONPATH=src python benchmarks/ddp_cpu_scaling.py [--steps 40] [--size 32] [--batch 32] [--repeats 2]

Each run is `artistry train data/demo ...` in a fresh process (torchrun for two); the rate is
images seen / training seconds from the final checkpoint (set-up and process start excluded).
One process uses every core; each of two gets half of them (OMP_NUM_THREADS).
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


def one_run(n: int, args, tmp: Path) -> float:
    runs = tmp / f"runs-{n}-{len(list(tmp.glob('runs-*')))}"
    cmd = [sys.executable, "-m", "artistry", "train", str(ROOT / "data/demo"), "--recipe", "classic",
           "--size", str(args.size), "--batch", str(args.batch), "--steps", str(args.steps), "--device", "cpu",
           "--precision", "fp32", "--n-samples", "16", "--runs-dir", str(runs), "--cache-dir", str(tmp / "cache"),
           "--quiet"] + (["--nproc", str(n)] if n > 1 else [])
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
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
    rates: dict[int, list[float]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as d:
        for _ in range(args.repeats):
            for n in (1, 2):  # interleaved, so a busy spell on the machine hits both
                rates[n].append(one_run(n, args, Path(d)))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"command: {' '.join(sys.argv)}")
    for n, r in rates.items():
        print(f"{n} process{'es' * (n > 1)}: " + ", ".join(f"{x:.1f}" for x in r) + " img/s")
    print(f"2 vs 1: {max(rates[2]) / max(rates[1]):.2f}x (best of each)")


if __name__ == "__main__":
    main()
