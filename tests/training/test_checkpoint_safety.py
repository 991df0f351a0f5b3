"""Checkpoints a NaN run cannot spoil, corrupt ones resume skips, and the per-GPU RNG restore."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

import artistry
from artistry.errors import NonFiniteError
from artistry.io import checkpoint as ckpt
from artistry.training import checkpointing
from artistry.training.callbacks import Callback
from artistry.training.callbacks.evaluate import BEST_CHECKPOINT, STATE_KEY, Evaluate


class PoisonAt(Callback):
    """Writes a NaN into one generator weight at the end of step `step`."""

    def __init__(self, step: int):
        self.step = step

    def on_step_end(self, trainer, logs) -> None:
        if trainer.state.step == self.step:
            p = next(trainer.state.model.G.parameters())
            with torch.no_grad():
                p[(0,) * p.dim()] = float("nan")


def _steps(run):
    return [s for s, _ in ckpt.list_checkpoints(run / "checkpoints")]


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")  # the grid of NaN samples
def test_no_checkpoint_is_written_from_nan_weights_and_the_good_ones_stay(tiny_config):
    tiny_config.train.steps, tiny_config.train.checkpoint_every, tiny_config.train.keep = 8, 8, 3
    tiny_config.train.name = "nan"
    refused = r"step 4: \d+ tensors are NaN or infinite \(model\.G\..*was not written.*are kept"
    with pytest.raises(NonFiniteError, match=refused):
        artistry.train(tiny_config, progress=False, callbacks=[PoisonAt(3)])  # after step 3 was saved
    run = next(Path(tiny_config.train.runs_dir).iterdir())
    assert _steps(run) == [1, 2, 3]  # step 4 refused; pruning did not push out the good ones
    for _, p in ckpt.list_checkpoints(run / "checkpoints"):
        tensors, meta = ckpt.load(p)
        assert meta["finite"] and not ckpt.non_finite(tensors)


def _write(folder, step, value, flag):
    meta = {} if flag is None else {"finite": flag}
    ckpt.save_atomic(folder / ckpt.checkpoint_name(step), {"model.w": torch.full((3,), value)}, meta)


@pytest.mark.parametrize("flag", [False, None])  # None: an older checkpoint without the flag is read
def test_prune_spares_the_newest_finite_checkpoint(tmp_path, flag):
    for step in (1, 2):
        _write(tmp_path, step, 1.0, True if flag is False else None)
    for step in (3, 4, 5):
        _write(tmp_path, step, float("nan"), flag)
    ckpt.prune(tmp_path, keep=3)
    assert [s for s, _ in ckpt.list_checkpoints(tmp_path)] == [2, 3, 4, 5]
    _write(tmp_path, 6, 1.0, True if flag is False else None)  # finite again: normal pruning resumes
    ckpt.prune(tmp_path, keep=3)
    assert [s for s, _ in ckpt.list_checkpoints(tmp_path)] == [4, 5, 6]


def test_prune_never_touches_best(tmp_path):
    """best.safetensors may be far older than the kept step checkpoints; it is the one generate uses."""
    ckpt.save_atomic(tmp_path / BEST_CHECKPOINT, {"model.w": torch.ones(1)}, {"finite": True})
    for step in (1, 2, 3):
        _write(tmp_path, step, 1.0, True)
    ckpt.prune(tmp_path, keep=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == [BEST_CHECKPOINT, ckpt.checkpoint_name(3)]


def test_resume_falls_back_to_an_older_checkpoint_when_the_newest_is_corrupt(tiny_config, capsys):
    t = tiny_config.train
    t.steps, t.checkpoint_every, t.name = 4, 8, "torn"
    run = artistry.train(tiny_config, progress=False)
    newest = ckpt.list_checkpoints(run / "checkpoints")[-1][1]
    newest.write_bytes(newest.read_bytes()[:1000])  # a torn copy, e.g. from a disk that lied about fsync
    capsys.readouterr()
    artistry.train(resume=run, overrides={"steps": 6}, progress=False)
    assert "skipping unreadable checkpoint" in capsys.readouterr().err
    t.steps, t.name = 6, "reference"
    reference = artistry.train(tiny_config, progress=False)
    a, meta = ckpt.load(ckpt.list_checkpoints(run / "checkpoints")[-1][1])
    b, _ = ckpt.load(ckpt.list_checkpoints(reference / "checkpoints")[-1][1])
    assert meta["step"] == 6  # continued from step 3, not from scratch and not a crash
    assert all(torch.equal(a[k], b[k]) for k in b if k.startswith(("model.", "optim.")))


def test_best_is_never_chosen_on_a_non_finite_metric(tmp_path, capsys):
    """NaN compares False with everything, so `best <= nan` used to let a NaN run become best."""
    saved = []
    trainer = SimpleNamespace(
        state=SimpleNamespace(extra={}, step=0, images_seen=0),
        run_dir=tmp_path,
        save_checkpoint=lambda path: saved.append(trainer.state.step),
    )
    ev = Evaluate(None, real_images=None, n=10, metric="fid")
    for step, fid in ((1, 5.0), (2, float("nan")), (3, float("inf")), (4, 4.0), (5, 4.5)):
        trainer.state.step = step
        ev._keep_best(trainer, {"fid": fid})
    assert saved == [1, 4]
    assert trainer.state.extra[STATE_KEY]["value"] == 4.0 and trainer.state.extra[STATE_KEY]["step"] == 4
    assert "fid is nan at step 2" in capsys.readouterr().err


class FakeCuda:
    def __init__(self, gpus):
        self.gpus, self.set = gpus, []

    def install(self, monkeypatch):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: self.gpus)
        monkeypatch.setattr(torch.cuda, "set_rng_state", lambda s, device: self.set.append((device, int(s[0]))))


def _cuda_states(n):
    return {f"rng.cuda.{i}": torch.full((4,), i, dtype=torch.uint8) for i in range(n)}


def test_cuda_rng_states_are_restored_in_device_order(monkeypatch, tmp_path):
    """Sorted as strings, rng.cuda.10 came before rng.cuda.2 and GPU 2 got GPU 10's stream."""
    cuda = FakeCuda(12)
    cuda.install(monkeypatch)
    checkpointing._restore_cuda_rng(_cuda_states(12), tmp_path / "c.safetensors")
    assert cuda.set == [(i, i) for i in range(12)]


def test_fewer_gpus_restore_what_fits_and_warn(monkeypatch, tmp_path, capsys):
    cuda = FakeCuda(2)
    cuda.install(monkeypatch)
    checkpointing._restore_cuda_rng(_cuda_states(4), tmp_path / "c.safetensors")
    assert cuda.set == [(0, 0), (1, 1)]  # set_rng_state_all used to fail on the missing devices
    assert "4 GPUs and this machine has 2" in capsys.readouterr().err


def test_a_run_killed_before_its_first_checkpoint_resumes_from_the_start(tiny_config, capsys):
    """kill -9 between config.json and the first checkpoint used to leave a run resume refused."""
    run = artistry.train(tiny_config, progress=False)
    expected, _ = ckpt.load(ckpt.list_checkpoints(run / "checkpoints")[-1][1])
    for _, p in ckpt.list_checkpoints(run / "checkpoints"):
        p.unlink()
    artistry.train(resume=run, progress=False)
    assert "stopped before its first checkpoint" in capsys.readouterr().err
    again, meta = ckpt.load(ckpt.list_checkpoints(run / "checkpoints")[-1][1])
    assert meta["step"] == tiny_config.train.steps
    assert all(torch.equal(again[k], expected[k]) for k in expected if k.startswith(("model.", "optim.")))
