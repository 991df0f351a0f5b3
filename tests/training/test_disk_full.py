"""A full disk during training: one clear message, the last good checkpoint intact, an exact resume."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
import torch

import artistry
from artistry.cli.main import app
from artistry.errors import StorageError
from artistry.io import checkpoint as ckpt
from artistry.training import trainer as trainer_module
from helpers import TINY_FLAGS


class FillsUp:
    """os.fdopen for checkpoint writes whose `fail_on`-th file gets half its bytes, then ENOSPC."""

    def __init__(self, fail_on: int):
        self.fail_on, self.opened = fail_on, 0
        self.real = os.fdopen

    def __call__(self, fd, *args, **kwargs):
        f = self.real(fd, *args, **kwargs)
        self.opened += 1
        if self.opened == self.fail_on:
            real_write = f.write

            def write(data):
                real_write(data[: len(data) // 2])
                raise OSError(errno.ENOSPC, "No space left on device")

            f.write = write
        return f


def _tiny(tiny_config, name):
    tiny_config.train.steps, tiny_config.train.checkpoint_every = 12, 16  # a checkpoint every 2 steps
    tiny_config.train.sample_every, tiny_config.train.name = 10_000, name
    return tiny_config


def test_full_disk_while_checkpointing_stops_cleanly_and_resumes_exactly(tiny_config, monkeypatch):
    cfg = _tiny(tiny_config, "full-disk")
    monkeypatch.setattr(ckpt.os, "fdopen", FillsUp(fail_on=3))  # steps 2 and 4 saved, step 6 fails
    with pytest.raises(StorageError) as e:
        artistry.train(cfg, progress=False)
    monkeypatch.undo()
    run = next(Path(cfg.train.runs_dir).iterdir())
    folder = run / "checkpoints"
    message = str(e.value)
    assert f"cannot write to {folder}" in message and "No space left" in message
    assert "step 4" in message and "MiB" in message and f"artistry train --resume {run}" in message
    assert [s for s, _ in ckpt.list_checkpoints(folder)] == [2, 4]
    assert not list(folder.glob(".tmp-*"))  # the half-written file was removed
    for _, p in ckpt.list_checkpoints(folder):
        ckpt.load(p)

    artistry.train(resume=run, progress=False)  # space freed: continue to the budget
    cfg.train.name = "reference"
    reference = artistry.train(cfg, progress=False)
    a, meta_a = ckpt.load(ckpt.list_checkpoints(run / "checkpoints")[-1][1])
    b, meta_b = ckpt.load(ckpt.list_checkpoints(reference / "checkpoints")[-1][1])
    assert meta_a["step"] == meta_b["step"] == 12
    for k in b:
        if k.startswith(("model.", "optim.")):
            assert torch.equal(a[k], b[k]), k


def test_full_disk_while_logging_is_one_line_from_the_cli(tiny_config, monkeypatch, capsys):
    def log_then_fill(path, record):
        if record["step"] >= 10:  # after the checkpoint at step 4
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, record)

    real = trainer_module.append_record
    monkeypatch.setattr(trainer_module, "append_record", log_then_fill)
    from artistry.training.callbacks import metrics_log

    monkeypatch.setattr(metrics_log, "MIN_SECONDS", 0.0)  # a record every 10 steps: the first at step 10
    cfg = tiny_config
    argv = [
        "train",
        cfg.data.path,
        *TINY_FLAGS,
        "--steps",
        "40",
        "--quiet",
        "--name",
        "t",
        "--checkpoint-every",
        "32",
        "--sample-every",
        "100000",
        "--runs-dir",
        cfg.train.runs_dir,
        "--cache-dir",
        cfg.data.cache_dir,
    ]
    assert app(argv) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert err.startswith("artistry train: error: training stopped at step ")
    assert "cannot write to " + str(Path(cfg.train.runs_dir) / "00000-t") in err
    assert "The newest checkpoint (step 8," in err and "--resume" in err
