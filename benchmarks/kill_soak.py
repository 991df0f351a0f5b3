"""kill -9 soak: a small CPU run killed with SIGKILL at random moments, resumed each time, then
compared bit for bit with the same run left alone. (Not a test: minutes of CPU.)

Reports runs lost (a resume that fails by itself, or a run that never reaches its budget),
checkpoints unreadable (every checkpoint file on disk is loaded after every kill), torn
metrics.jsonl lines, and whether the final weights, optimizer states, RNG and loader state equal
the uninterrupted run's.

    PYTHONPATH=src python benchmarks/kill_soak.py --kills 20 --steps 1500 --seed 0

Uses `python -m artistry train` exactly as a user would, one CPU thread, on generated images.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from artistry.errors import CheckpointError
from artistry.io import checkpoint as ckpt
from artistry.io.metrics import read_records


def write_images(folder: Path, n: int, size: int, seed: int) -> None:
    """n small RGB PNGs: smooth colour ramps with noise."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        base = rng.integers(0, 256, size=(1, 1, 3))
        ramp = np.linspace(0, 80, size)[None, :, None]
        img = np.clip(base + ramp + rng.normal(0, 10, (size, size, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(folder / f"img{i:03d}.png")


def train_cmd(args, images: Path, name: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "artistry",
        "train",
        str(images),
        "--recipe",
        "classic",
        "--size",
        str(args.size),
        "--ngf",
        "8",
        "--ndf",
        "8",
        "--nz",
        "16",
        "--batch",
        "8",
        "--precision",
        "fp32",
        "--n-samples",
        "4",
        "--ema",
        "--steps",
        str(args.steps),
        "--checkpoint-every",
        str(8 * args.checkpoint_steps),
        "--sample-every",
        str(8 * args.checkpoint_steps),
        "--name",
        name,
        "--quiet",
    ]


def final_state(run: Path) -> tuple[dict, dict]:
    tensors, meta = ckpt.load(ckpt.list_checkpoints(run / "checkpoints")[-1][1])
    return tensors, meta


def check_checkpoints(run: Path, reference: Path) -> tuple[int, int, list[int]]:
    """(files loaded, files unreadable, steps whose weights differ from the reference run's
    checkpoint at the same step) among the step checkpoints on disk."""
    found = ckpt.list_checkpoints(run / "checkpoints")
    bad, differ = 0, []
    for step, p in found:
        try:
            tensors, _ = ckpt.load(p)
        except CheckpointError:
            bad += 1
            continue
        ref_path = reference / "checkpoints" / ckpt.checkpoint_name(step)
        if ref_path.is_file():
            ref, _ = ckpt.load(ref_path)
            if any(not torch.equal(tensors[k], ref[k]) for k in ref if k.startswith(("model.", "ema.", "optim."))):
                differ.append(step)
    return len(found), bad, differ


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kills", type=int, default=20)
    p.add_argument("--steps", type=int, default=1500, help="the run's step budget (long enough to outlast the kills)")
    p.add_argument("--checkpoint-steps", type=int, default=10, help="steps between checkpoints (and grids)")
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--max-wait", type=float, default=8.0, help="kill at a uniform random time in (0, this] s")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--work", default=None, help="work folder (default: a temp folder, removed afterwards)")
    args = p.parse_args()

    work = Path(args.work or tempfile.mkdtemp(prefix="kill-soak-"))
    images, runs = work / "images", work / "runs"
    write_images(images, 32, 40, args.seed)
    env = {
        **os.environ,
        "ARTISTRY_CACHE": str(work / "cache"),
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src"),
    }
    rng = random.Random(args.seed)

    t0 = time.monotonic()
    ref = subprocess.run(
        train_cmd(args, images, "reference") + ["--keep", "100000"],  # keep all: compared per step
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    if ref.returncode:
        sys.exit(f"the uninterrupted run failed:\n{ref.stderr}")
    reference_s = time.monotonic() - t0
    print(f"reference: {args.steps} steps uninterrupted in {reference_s:.1f} s", flush=True)

    run, reference = runs / "00001-soak", runs / "00000-reference"
    lost = unreadable = loaded = restarted_fresh = delivered = 0
    diverged: set[int] = set()
    steps_at_kill = []
    attempt, finished = 0, False
    while True:  # kill until --kills SIGKILLs landed (or the run reached its budget), then one run to the end
        last = delivered >= args.kills or finished
        fresh = not (run / "config.json").is_file()
        if fresh and run.exists():  # killed before the run directory was complete: nothing was trained
            shutil.rmtree(run)
            restarted_fresh += 1
        cmd = (
            train_cmd(args, images, "soak")
            if fresh
            else [sys.executable, "-m", "artistry", "train", "--resume", str(run), "--quiet"]
        )
        err_path = work / f"attempt-{attempt:02d}.err"  # a file, not a pipe: a full pipe would stall the run
        with open(err_path, "w") as err_file:
            proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=err_file)
        if not last:
            try:
                proc.wait(timeout=rng.uniform(0.05, args.max_wait))
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                delivered += 1
        else:
            proc.wait()  # the last one runs to the end of the budget
        err = err_path.read_text()
        if proc.returncode not in (0, -signal.SIGKILL):
            lost += 1
            print(f"  attempt {attempt}: exited {proc.returncode} by itself:\n{err}", flush=True)
        n, bad, differ = check_checkpoints(run, reference)
        loaded += n
        unreadable += bad
        diverged.update(differ)
        newest = ckpt.list_checkpoints(run / "checkpoints")
        steps_at_kill.append(newest[-1][0] if newest else None)
        print(
            f"  attempt {attempt}: rc {proc.returncode}, newest checkpoint step {steps_at_kill[-1]}, "
            f"{n} on disk, {bad} unreadable, differing from the reference at steps {differ}",
            flush=True,
        )
        finished = proc.returncode == 0
        attempt += 1
        if last:
            break

    a, meta_a = final_state(run)
    b, meta_b = final_state(reference)
    if meta_a["step"] != args.steps:
        lost += 1
    keys = sorted(k for k in b if not k.startswith("fixed."))
    differ = [k for k in keys if k not in a or not torch.equal(a[k], b[k])]
    same_counters = (meta_a["step"], meta_a["images_seen"], meta_a["loader"]) == (
        meta_b["step"],
        meta_b["images_seen"],
        meta_b["loader"],
    )
    torn = len((run / "metrics.jsonl").read_text().splitlines()) - len(read_records(run / "metrics.jsonl"))
    result = {
        "kills_asked": args.kills,
        "kills_delivered": delivered,
        "attempts": attempt,
        "steps": args.steps,
        "checkpoint_every_steps": args.checkpoint_steps,
        "runs_lost": lost,
        "checkpoints_checked": loaded,
        "checkpoints_unreadable": unreadable,
        "killed_before_run_dir_complete": restarted_fresh,
        "torn_metrics_lines": torn,
        "tensors_compared": len(keys),
        "tensors_differing": len(differ),
        "counters_equal": same_counters,
        "bit_identical": not differ and same_counters,
        "first_checkpoint_differing": min(diverged) if diverged else None,
        "newest_checkpoint_after_each_attempt": steps_at_kill,
        "wall_s": round(time.monotonic() - t0, 1),
        "reference_s": round(reference_s, 1),
    }
    print(json.dumps(result, indent=1))
    if differ:
        print("differing tensors:", differ[:10])
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if result["bit_identical"] and not lost and not unreadable else 1


if __name__ == "__main__":
    sys.exit(main())
