"""The non-finite guard in a real run: NaN forced at chosen steps.

One bad step is skipped and counted; MAX_IN_A_ROW in a row roll the run back to its last
checkpoint at half the learning rate; when that keeps failing the run stops with a message and
finite checkpoints. Bugs these catch: a NaN that reaches the weights, a rollback that forgets the
loader position or the lowered learning rate, a guard that never fires.
"""

from __future__ import annotations

import io

import pytest
import torch

import artistry
from artistry.io import checkpoint as ckpt
from artistry.losses.adversarial import AdversarialLoss
from artistry.training.callbacks import nonfinite_guard


class Poison:
    """Makes the generator phase's loss NaN on the calls whose number is in `calls`."""

    def __init__(self, monkeypatch, calls):
        self.calls, self.count = calls, 0
        original = AdversarialLoss.phases

        def phases(loss_self):
            out = original(loss_self)
            for phase in out:
                if phase.name == "G":
                    phase.compute = self._wrap(phase.compute)
            return out

        monkeypatch.setattr(AdversarialLoss, "phases", phases)

    def _wrap(self, compute):
        def poisoned(model, real, labels=None):
            self.count += 1
            loss, logs = compute(model, real, labels)
            return (loss * float("nan"), logs) if self.calls(self.count) else (loss, logs)

        return poisoned


@pytest.fixture(autouse=True)
def check_every_step(monkeypatch):
    monkeypatch.setattr(nonfinite_guard, "CHECK_EVERY", 1)
    monkeypatch.setattr(nonfinite_guard, "CHECK_SECONDS", 0.0)


def _last(run):
    tensors, meta = ckpt.load(ckpt.list_checkpoints(run / "checkpoints")[-1][1])
    return tensors, meta


def _all_finite(tensors):
    return all(torch.isfinite(v).all() for k, v in tensors.items() if v.is_floating_point())


def test_one_bad_step_is_skipped_and_counted(tiny_config, monkeypatch):
    Poison(monkeypatch, lambda n: n == 3)
    tiny_config.train.steps = 6
    run = artistry.train(tiny_config, progress=False)
    tensors, meta = _last(run)
    assert meta["step"] == 6 and _all_finite(tensors)
    assert meta["extra"]["skipped_steps"] == 1 and "rollbacks" not in meta["extra"]


def test_bad_steps_in_a_row_roll_back_at_half_the_learning_rate(tiny_config, monkeypatch, capsys):
    Poison(monkeypatch, lambda n: 9 <= n < 9 + nonfinite_guard.MAX_IN_A_ROW)
    tiny_config.train.steps = 24
    tiny_config.train.checkpoint_every = 5 * tiny_config.train.batch  # checkpoints at steps 5, 10, 15, ...
    run = artistry.train(tiny_config, progress=False)
    err = capsys.readouterr().err
    assert "Rolled back to the checkpoint of step 5" in err and "x0.5 the learning rate" in err
    tensors, meta = _last(run)
    assert meta["step"] == 24 and _all_finite(tensors)
    assert meta["extra"]["rollbacks"] == 1 and meta["extra"]["lr_factor"] == 0.5
    assert meta["extra"]["skipped_steps"] == nonfinite_guard.MAX_IN_A_ROW
    lr = tensors and ckpt.unpack_state_dict(meta["optimizers"]["G"], tensors)["param_groups"][0]["lr"]
    assert lr == pytest.approx(0.5 * artistry.load(run).config.optim.lr_g)
    assert meta["images_seen"] == 24 * tiny_config.train.batch  # the loader rewound with the weights


def test_a_run_that_keeps_failing_stops_with_a_message_and_finite_checkpoints(tiny_config, monkeypatch, capsys):
    Poison(monkeypatch, lambda n: n >= 4)
    tiny_config.train.steps = 400
    tiny_config.train.checkpoint_every = 2 * tiny_config.train.batch
    run = artistry.train(tiny_config, progress=False)
    err = capsys.readouterr().err
    assert err.count("Rolled back") == nonfinite_guard.MAX_ROLLBACKS
    assert "Stopping" in err and f"artistry train --resume {run}" in err
    tensors, meta = _last(run)
    assert meta["step"] < 400 and _all_finite(tensors)
    assert meta["extra"]["lr_factor"] == 0.5**nonfinite_guard.MAX_ROLLBACKS


def test_nan_before_the_first_checkpoint_stops_and_says_so(tiny_config, monkeypatch, capsys):
    Poison(monkeypatch, lambda n: True)
    tiny_config.train.steps = 200
    tiny_config.train.checkpoint_every = 10**9
    run = artistry.train(tiny_config, progress=False)
    assert "no checkpoint was written before that" in capsys.readouterr().err
    tensors, meta = _last(run)  # the end-of-run checkpoint: the initial weights, never stepped
    assert _all_finite(tensors) and meta["step"] == nonfinite_guard.MAX_IN_A_ROW


def test_the_guard_reads_the_device_counters_only_every_so_often(tiny_config):
    """One transfer per CHECK_EVERY steps and CHECK_SECONDS, not one per step."""
    guard = nonfinite_guard.NonFiniteGuard(check_every=5, min_seconds=0.0, stream=io.StringIO())
    reads = []
    guard._read = lambda trainer: reads.append(1) or (0, False)
    for _ in range(12):
        guard.on_step_end(None, {})
    assert len(reads) == 2
