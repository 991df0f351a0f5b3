"""Two gloo processes on the CPU train exactly like one process with the same global batch."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from artistry import api
from artistry.io import checkpoint as ckpt

from dist_launch import launch

STEPS, HALF = 5, 3  # the many-process run stops at HALF, a one-process resume takes it to STEPS
TOLERANCE = 1e-5    # float32 sums in another order (per-rank means, then their mean)


def _config(tiny_config, runs: Path):
    cfg = tiny_config
    cfg.model.mbstd = True          # groups of 4: the per-rank batch of 4 is one group, as in one process
    cfg.model.d_norm = "none"       # D without batch norm; G's batch norm runs over the global batch:
    cfg.train.sync_bn = True        # with per-rank statistics the two would differ (see distributed.py)
    cfg.train.ema = True
    cfg.train.augment = "translation,cutout"  # per-image draws: each rank takes its rows of one draw
    cfg.train.batch = 8
    cfg.train.steps = HALF
    cfg.train.checkpoint_every = HALF * cfg.train.batch
    cfg.train.runs_dir = str(runs)
    return cfg


def _tensors(run_dir: Path, step: int) -> tuple[dict, dict]:
    return ckpt.load(Path(run_dir) / "checkpoints" / ckpt.checkpoint_name(step))


def _assert_same_weights(a: dict, b: dict) -> None:
    weights = [k for k in a if k.startswith(("G.", "D.", "ema.")) or k.startswith("model.")]
    assert weights and set(a) == set(b)
    for k in a:
        if a[k].is_floating_point():
            assert torch.allclose(a[k], b[k], atol=TOLERANCE, rtol=0), (k, (a[k] - b[k]).abs().max())


def test_two_processes_equal_one_and_resume_in_one(tiny_config, tmp_path):
    cfg = _config(tiny_config, tmp_path / "runs-1")
    cfg.train.steps = STEPS
    one = api.train(cfg, progress=False)  # the reference: one process, global batch 8, to STEPS

    cfg2 = _config(tiny_config, tmp_path / "runs-2")
    ranks = launch({"config": cfg2.to_dict(), "audit": str(tmp_path)}, world=2)
    assert [r["rc"] for r in ranks] == [0, 0], ranks[0]["stderr"][-2000:] + ranks[1]["stderr"][-2000:]
    run_dir = Path(ranks[0]["report"]["run_dir"])
    assert ranks[1]["report"]["run_dir"] == str(run_dir)

    # (a) after HALF steps of bce + mbstd + EMA + DiffAugment: the weights, EMA, optimizer moments
    # and counters of one process, within float rounding
    t1, m1 = _tensors(one, HALF)
    t2, m2 = _tensors(run_dir, HALF)
    _assert_same_weights(t1, t2)
    assert (m2["step"], m2["images_seen"], m2["loader"]) == (m1["step"], m1["images_seen"], m1["loader"])

    # (c) rank 1 wrote nothing: one run directory, every file from rank 0
    assert ranks[1]["report"]["writes"] == []
    assert [p.name for p in (tmp_path / "runs-2").iterdir()] == [run_dir.name]
    steps_logged = [line for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert len(steps_logged) == len(set(steps_logged))

    # (b) resumed in ONE process, it continues the same data order and RNG: the one-process run's end
    api.train(resume=run_dir, overrides={"steps": STEPS}, progress=False)
    t1, m1 = _tensors(one, STEPS)
    t2, m2 = _tensors(run_dir, STEPS)
    _assert_same_weights(t1, t2)
    assert (m2["images_seen"], m2["loader"]) == (m1["images_seen"], m1["loader"])
