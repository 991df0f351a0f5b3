"""Two gloo processes on the CPU train exactly like one process with the same global batch."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from artistry import api
from artistry.io import checkpoint as ckpt
from dist_launch import launch
from helpers import TINY_FLAGS

STEPS, HALF = 5, 3  # the many-process run stops at HALF, a one-process resume takes it to STEPS
TOLERANCE = 1e-5  # float32 sums in another order (per-rank means, then their mean)


def _config(tiny_config, runs: Path):
    cfg = tiny_config
    cfg.model.mbstd = True  # groups of 4: the per-rank batch of 4 is one group, as in one process
    cfg.model.d_norm = "none"  # D without batch norm; G's batch norm runs over the global batch:
    cfg.train.sync_bn = True  # with per-rank statistics the two would differ (see distributed.py)
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


def test_a_rank_that_dies_makes_the_others_exit_with_a_message(tiny_config, tmp_path):
    """(d) rank 1 vanishes at step 2 (os._exit, as a crash or OOM kill would): rank 0 does not hang
    on the next all-reduce but exits with one line that says what happened and how to go on."""
    cfg = _config(tiny_config, tmp_path / "runs")
    cfg.train.steps = 50
    ranks = launch(
        {"config": cfg.to_dict(), "audit": str(tmp_path), "die_at": 2},
        world=2,
        extra_env={"ARTISTRY_DIST_TIMEOUT": "15"},
    )
    assert ranks[1]["rc"] == 3
    assert ranks[0]["rc"] == 1, ranks[0]["stderr"][-2000:]
    message = ranks[0]["stderr"].strip().splitlines()[-1]
    assert message.startswith("error: rank 0: another process of this run stopped")
    assert "artistry train --resume" in message and "Traceback" not in ranks[0]["stderr"]


def test_each_rank_reads_its_slice_of_the_global_batch_and_counts_global_images():
    import numpy as np

    from artistry.data.loader import BatchLoader

    images = np.random.default_rng(0).integers(0, 256, (20, 1, 2, 2), dtype=np.uint8)
    one = BatchLoader(images, 6, seed=3, mirror=True)
    ranks = [BatchLoader(images, 6, seed=3, mirror=True, shard=(r, 3)) for r in range(3)]
    for _ in range(7):  # across an epoch boundary (3 batches of 6 per epoch of 20)
        whole = next(one)[0]
        parts = [next(r)[0] for r in ranks]
        assert [p.shape[0] for p in parts] == [2, 2, 2]
        assert torch.equal(torch.cat(parts), whole)
        assert all(r.state_dict() == one.state_dict() for r in ranks)


def test_a_batch_that_does_not_divide_over_the_processes_is_a_config_error():
    from artistry.distributed import Shard, per_rank_batch
    from artistry.errors import ConfigError

    assert per_rank_batch(64, 2, Shard(1, 4)) == 16
    with pytest.raises(ConfigError, match="--batch 30 does not divide over 4 processes"):
        per_rank_batch(30, 1, Shard(0, 4))
    with pytest.raises(ConfigError, match="not a multiple of --pack 4"):
        per_rank_batch(16, 4, Shard(0, 8))


def test_train_nproc_launches_torchrun_and_one_run_comes_out(tiny_config, tmp_path, capsys):
    """`artistry train DIR --nproc 2` starts torchrun with two gloo processes: one run directory,
    the global batch counted once per step, the usual closing lines from rank 0 only."""
    from artistry.cli.main import app

    runs = tmp_path / "runs"
    code = app(
        [
            "train",
            tiny_config.data.path,
            "--nproc",
            "2",
            *TINY_FLAGS,
            "--steps",
            "2",
            "--cache-dir",
            tiny_config.data.cache_dir,
            "--runs-dir",
            str(runs),
            "--quiet",
        ]
    )
    assert code == 0
    (run_dir,) = runs.iterdir()
    _, meta = _tensors(run_dir, 2)
    assert (meta["step"], meta["images_seen"]) == (2, 16)
    assert app(["train", "--resume", str(run_dir), "--steps", "3", "--quiet"]) == 0  # and on in one process
    assert _tensors(run_dir, 3)[1]["images_seen"] == 24


def test_gpus_and_nproc_are_checked_before_anything_starts(tiny_config, capsys):
    from artistry.cli.main import app

    assert app(["train", tiny_config.data.path, "--nproc", "2", "--gpus", "2"]) == 1
    assert "not both" in capsys.readouterr().err
    assert app(["train", tiny_config.data.path, "--nproc", "0"]) == 1
    assert "--nproc must be at least 1" in capsys.readouterr().err
    if not torch.cuda.is_available():
        assert app(["train", tiny_config.data.path, "--gpus", "2"]) == 1
        assert "this machine has 0 CUDA GPUs" in capsys.readouterr().err


def test_a_stop_on_one_rank_stops_every_rank_on_the_same_step_with_one_checkpoint(tiny_config, tmp_path):
    """SIGTERM (or Ctrl-C) reaching rank 1 alone: the ranks agree before the next step, all stop
    after the same step, and rank 0 writes one checkpoint of that step; both exit cleanly."""
    cfg = _config(tiny_config, tmp_path / "runs")
    cfg.train.steps = 50
    cfg.train.checkpoint_every = 1000
    ranks = launch({"config": cfg.to_dict(), "audit": str(tmp_path), "term_at": 2}, world=2)
    assert [r["rc"] for r in ranks] == [0, 0], ranks[0]["stderr"][-1500:] + ranks[1]["stderr"][-1500:]
    run_dir = Path(ranks[0]["report"]["run_dir"])
    names = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    assert names == [ckpt.checkpoint_name(3)]  # the step during which the signal came is finished
    assert ranks[1]["report"]["writes"] == []


@pytest.mark.parametrize("what", ["latents", "augment", "vae_noise", "dae_corruption", "fastgan_noise"])
def test_each_rank_gets_its_rows_of_what_one_process_draws(what, monkeypatch):
    """Every per-image training draw, made on rank r of 2, is rows r of one process's draw for
    the global batch (in-process: the shard is set by hand, no process group needed)."""
    import artistry.distributed as distributed
    from artistry.data.augment import DiffAugment
    from artistry.data.corrupt import corrupt, parse_noise
    from artistry.models.base import GenerativeModel
    from artistry.models.fastgan import NoiseInjection
    from artistry.models.vae import ConvVAE

    noise = NoiseInjection()
    with torch.no_grad():
        noise.weight.fill_(1.0)

    x = torch.rand(8, 3, 16, 16) * 2 - 1
    draws = {
        "latents": lambda x: GenerativeModel(5, (3, 16, 16)).sample_latents(x.shape[0], "cpu"),
        "augment": DiffAugment("color,translation,cutout", p=0.5),
        "vae_noise": lambda x: ConvVAE.reparameterize(None, torch.zeros(x.shape[0], 7), torch.zeros(x.shape[0], 7)),
        "dae_corruption": lambda x: distributed.on_global_batch(
            lambda y: corrupt(y, parse_noise("gaussian:0.2,saltpepper:0.05,mask")), x
        ),
        "fastgan_noise": lambda x: noise(torch.zeros_like(x)).detach(),
    }
    torch.manual_seed(7)
    whole = draws[what](x)
    parts = []
    for rank in range(2):
        monkeypatch.setattr(distributed, "_SHARD", distributed.Shard(rank, 2))
        torch.manual_seed(7)
        parts.append(draws[what](x[rank * 4 : (rank + 1) * 4]))
    assert torch.equal(torch.cat(parts), whole)
    assert not torch.equal(parts[0], parts[1])  # and the ranks' draws differ


def test_minibatch_std_per_rank_is_one_processs_when_the_share_is_a_multiple_of_the_group():
    """The documented difference: per-rank minibatch-std groups are one process's groups when each
    rank's share is a multiple of 4 (the equality test runs that case); with a share of 2 each
    rank's groups are smaller and the statistic differs."""
    from artistry.models.layers import MinibatchStd

    torch.manual_seed(0)
    x = torch.randn(16, 3, 4, 4)
    whole = MinibatchStd(group=4)(x)
    assert torch.equal(torch.cat([MinibatchStd(group=4)(part) for part in x.chunk(2)]), whole)  # 2 ranks x 8
    assert torch.equal(torch.cat([MinibatchStd(group=4)(part) for part in x.chunk(4)]), whole)  # 4 ranks x 4
    small = torch.cat([MinibatchStd(group=4)(part) for part in x.chunk(8)])  # 8 ranks x 2
    assert not torch.allclose(small, whole)
