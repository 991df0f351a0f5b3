"""One GPU release check: every family and loss trains a few steps on CUDA, resumes, generates,
interpolates and evaluates; the CPU/CUDA parity tests; `bench speed --device cuda`; the hires
recipe's speed and memory at 256 and 1024 px (largest batch on a 16 GB and an 80 GB card); the best
recipe for a time budget at 64 and 256 px; the best recipe's D(real)/D(fake) over the same 300
steps on CPU and CUDA. Prints one table. Run through scripts/gpu_check.sh (about 10 minutes on
an H100/H200); nothing here is a CI test.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROWS: list[dict] = []
FAMILIES = [  # (name, flags): every family and loss, a few steps each
    ("dcgan-bce", "--recipe classic"),
    ("dcgan-best", ""),
    ("dcgan-wgan", "--recipe classic --loss wgan"),
    ("dcgan-wgan-gp", "--recipe classic --loss wgan-gp"),
    ("dcgan-hinge", "--recipe classic --loss hinge"),
    ("mlp-bce", "--model mlp --size 32 --recipe classic"),
    ("vae", "--model vae"),
    ("dae", "--model dae"),
    ("fastgan-hires", "--model fastgan --size 256"),
]


def run(label: str, command: str, timeout: float, env=None) -> tuple[bool, str]:
    """Run one shell command; record pass/fail and seconds; return (ok, output)."""
    t0 = time.monotonic()
    try:
        p = subprocess.run(
            command, shell=True, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
        )
        ok, out = p.returncode == 0, p.stdout + p.stderr
    except subprocess.TimeoutExpired as e:
        ok, out = False, f"timed out after {timeout:.0f} s\n{e.stdout or ''}{e.stderr or ''}"
    row = {"check": label, "ok": ok, "seconds": round(time.monotonic() - t0, 1)}
    ROWS.append(row)
    if not ok:
        print(f"FAILED {label}: {command}\n{out[-3000:]}", file=sys.stderr, flush=True)
    return ok, out


def records(run_dir: Path) -> list[dict]:
    from artistry.io.metrics import read_records  # the project's reader: skips a torn last line

    return read_records(run_dir / "metrics.jsonl")


def summarise(run_dir: Path, row: dict, last_steps: int | None = None) -> None:
    """img/s (median of the training records) and mean D(real)/D(fake) over the last records."""
    recs = [r for r in records(run_dir) if "loss_D" in r]
    if not recs:
        return
    rates = sorted(r["img_per_s"] for r in recs[1:] or recs)
    row["img_s"] = round(rates[len(rates) // 2])
    tail = [r for r in recs if last_steps is None or r["step"] > recs[-1]["step"] - last_steps]
    for key in ("D_real", "D_fake"):
        values = [r[key] for r in tail if key in r]
        if values:
            row[key] = round(sum(values) / len(values), 3)


def newest_run(runs: Path, name: str) -> Path:
    return sorted(runs.glob(f"*-{name}"))[-1]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", default="data/demo")
    p.add_argument("--runs", default="runs/gpu-check")
    p.add_argument("--seconds", type=float, default=90, help="time budget of each best-recipe run [90]")
    p.add_argument(
        "--skip", default="", help="comma-separated parts to skip: parity,families,bench,fastgan-memory,budget,cpu300"
    )
    args = p.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    art = f"{shlex.quote(sys.executable)} -m artistry"
    runs = Path(args.runs)
    common = f"--runs-dir {runs} --quiet --device cuda"

    run(
        "nvidia-smi / torch",
        f"nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv && "
        f"{shlex.quote(sys.executable)} -c 'import torch; print(torch.__version__, torch.version.cuda)'",
        60,
    )
    if "parity" not in skip:
        run("CPU/CUDA parity tests", f"{shlex.quote(sys.executable)} -m pytest -q -p no:warnings tests/gpu", 240)
    if "families" not in skip:
        for name, flags in FAMILIES:
            size = "" if "--size" in flags else "--size 64"
            ok, _ = run(
                f"train {name} 30 steps",
                f"{art} train {args.data} {size} {flags} --steps 30 --name {name} {common}",
                180,
            )
            if not ok:
                continue
            rd = newest_run(runs, name)
            run(f"resume {name} to 40", f"{art} train --resume {rd} --steps 40 --quiet", 120)
            if name == "dae":
                continue
            run(f"generate {name}", f"{art} generate {rd} --n 16 --out {rd}/gen --device cuda", 60)
            if name in ("dcgan-best", "vae"):
                run(f"interpolate {name}", f"{art} interpolate {rd} --frames 8 --out {rd}/walk.gif --device cuda", 60)
        rd = newest_run(runs, "dcgan-best")
        run("evaluate dcgan-best (n 200, GPU Inception)", f"{art} evaluate {rd} --n 200 --batch 100 --device cuda", 180)
        run("generate dcgan-best on the CPU", f"{art} generate {rd} --n 4 --out {rd}/gen-cpu --device cpu", 60)
    if "bench" not in skip:
        for extra in (
            "--batch 64",
            "--batch 128",
            "--recipe best --batch 64",
            "--recipe best --batch 256",
            "--recipe best --batch 64 --compile",
            "--recipe hires --size 256 --batch 8",
            "--recipe hires --size 1024 --batch 8",
        ):
            ok, out = run(f"bench speed {extra}", f"{art} bench speed --device cuda --steps 50 --rounds 3 {extra}", 300)
            line = next((x for x in out.splitlines() if x.startswith("median:")), "")
            ROWS[-1]["note"] = line.replace("median: ", "")[:150]
    if "fastgan-memory" not in skip:  # issue 23: the largest hires batch on a 16 GB and an 80 GB card
        for ngf in (16, 64):
            ok, out = run(
                f"hires speed and memory, ngf {ngf}, 256 and 1024 px",
                f"{shlex.quote(sys.executable)} benchmarks/fastgan_speed_memory.py --device cuda --sizes 256,1024 "
                f"--gib 16,80 --steps 3 --ngf {ngf}",
                300,
            )
            rows = [x for x in out.splitlines() if x.startswith("| 256") or x.startswith("| 1024")]
            ROWS[-1]["note"] = " ; ".join(rows)[:300]
    if "budget" not in skip:
        minutes = args.seconds / 60
        for size in (64, 256):
            name = f"best{size}"
            ok, _ = run(
                f"best recipe {args.seconds:.0f} s at {size} px",
                f"{art} train {args.data} --size {size} --max-minutes {minutes:.3f} --name {name} {common}",
                args.seconds + 240,
            )
            if ok:
                summarise(newest_run(runs, name), ROWS[-1])
    if "cpu300" not in skip:
        for device in ("cuda", "cpu"):
            name = f"best300-{device}"
            ok, _ = run(
                f"best recipe 300 steps on {device} (D over steps 200-300)",
                f"{art} train {args.data} --size 64 --steps 300 --name {name} --runs-dir {runs} --quiet "
                f"--device {device}",
                600,
            )
            if ok:
                summarise(newest_run(runs, name), ROWS[-1], last_steps=100)

    print("\n| check | result | seconds | img/s | D(real) | D(fake) | note |\n|---|---|---|---|---|---|---|")
    for r in ROWS:
        print(
            f"| {r['check']} | {'pass' if r['ok'] else 'FAIL'} | {r['seconds']} | {r.get('img_s', '')} | "
            f"{r.get('D_real', '')} | {r.get('D_fake', '')} | {r.get('note', '')} |"
        )
    failed = [r["check"] for r in ROWS if not r["ok"]]
    print(f"\n{len(ROWS) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
