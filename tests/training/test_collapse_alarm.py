"""The collapse alarm on a deliberately collapsed generator and a healthy one, and in a real run."""

from __future__ import annotations

import io
import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

import artistry
from artistry import api
from artistry.build import build_model
from artistry.config import resolve
from artistry.io import checkpoint as ckpt
from artistry.training.callbacks.base import Callback
from artistry.training.callbacks.collapse_alarm import (
    KEY,
    CollapseAlarm,
    mean_pairwise_distance,
    near_duplicate_fraction,
)
from artistry.training.state import TrainState, build_optimizers


def smooth_images(n: int, seed: int) -> torch.Tensor:
    """n distinct smooth colour fields in [-1, 1], [n, 3, 32, 32]."""
    g = torch.Generator().manual_seed(seed)
    base = torch.rand(n, 3, 1, 1, generator=g) * 2 - 1
    ramp = torch.linspace(-0.3, 0.3, 32).reshape(1, 1, 1, 32) * torch.randn(n, 3, 1, 1, generator=g)
    return (base + ramp + 0.05 * torch.randn(n, 3, 32, 32, generator=g)).clamp(-1, 1)


class BankGenerator(nn.Module):
    """G(z) = images from a bank (one per latent), plus a faint z-dependent texture."""

    def __init__(self, bank: torch.Tensor, collapsed: bool):
        super().__init__()
        self.register_buffer("bank", bank)
        self.collapsed = collapsed
        self.proj = nn.Linear(16, 3 * 32 * 32, bias=False)

    def forward(self, z):
        n = z.shape[0]
        x = self.bank[:1].expand(n, -1, -1, -1) if self.collapsed else self.bank[:n]
        return (x + 1e-3 * self.proj(z).reshape(n, 3, 32, 32)).clamp(-1, 1)


def make_trainer(tiny_config, collapsed: bool):
    cfg = resolve(tiny_config)
    torch.manual_seed(0)
    model, _ = build_model(cfg, torch.device("cpu"))
    real = smooth_images(16, seed=1)
    model.G = BankGenerator(smooth_images(16, seed=2), collapsed)  # unseen images, same style
    state = TrainState(
        model,
        build_optimizers(cfg, model),
        None,
        fixed_z=torch.randn(16, 16),
        fixed_real=real,
        step=500,
        images_seen=4000,
    )
    records = []
    return SimpleNamespace(state=state, cfg=cfg, log=records.append, images_before_step=3990), records


def test_statistics_on_hand_built_sets():
    x = torch.zeros(4, 2)
    x[1, 0] = 3.0
    x[2, 1] = 4.0
    x[3] = torch.tensor([3.0, 4.0])  # distances: 3, 4, 5, 5, 4, 3 -> mean 4
    assert mean_pairwise_distance(x) == pytest.approx(4.0)
    assert near_duplicate_fraction(x, 3.5) == pytest.approx(2 / 6)
    assert near_duplicate_fraction(torch.zeros(5, 3), 0.1) == 1.0


def test_alarm_fires_on_a_collapsed_generator(tiny_config):
    trainer, records = make_trainer(tiny_config, collapsed=True)
    out = io.StringIO()
    alarm = CollapseAlarm(every=8, warmup=0, stream=out)
    alarm.on_train_start(trainer)
    alarm.on_step_end(trainer, {})
    assert len(records) == 1
    r = records[0]
    assert r["diversity_px"] < 0.05 and r["diversity_d"] < 0.05 and r["near_dup"] == 1.0
    assert r["collapse"] == 1
    assert "warning: possible mode collapse at step 500" in out.getvalue()
    assert "--pack 2" in out.getvalue()


def test_alarm_stays_quiet_on_a_healthy_generator(tiny_config):
    trainer, records = make_trainer(tiny_config, collapsed=False)
    out = io.StringIO()
    alarm = CollapseAlarm(every=8, warmup=0, stream=out)
    alarm.on_train_start(trainer)
    alarm.on_step_end(trainer, {})
    r = records[0]
    assert 0.7 < r["diversity_px"] < 1.4 and r["diversity_d"] > 0.5 and r["near_dup"] == 0.0
    assert r["collapse"] == 0 and out.getvalue() == ""


def test_alarm_is_silent_during_warmup_but_still_logs(tiny_config):
    trainer, records = make_trainer(tiny_config, collapsed=True)
    out = io.StringIO()
    CollapseAlarm(every=8, warmup=10_000, stream=out).check(trainer)
    assert records[0]["collapse"] == 1 and out.getvalue() == ""


def test_alarm_changes_no_training_state(tiny_config):
    trainer, _ = make_trainer(tiny_config, collapsed=False)
    model = trainer.state.model
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    model.train()
    CollapseAlarm(every=8, warmup=0, stream=io.StringIO()).check(trainer)
    assert torch.equal(torch.get_rng_state(), rng)
    assert model.training and model.D.training
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k  # batch-norm running stats included
    assert set(trainer.state.extra[KEY]) == {"real_px", "tau", "real_near_dup"}


class _NoAlarm(Callback):
    def __init__(self, *a, **k):
        pass


def _final_tensors(run):
    return ckpt.load(ckpt.list_checkpoints(run / "checkpoints")[-1][1])


def test_in_a_real_run_it_logs_and_leaves_training_bit_identical(tiny_config, monkeypatch):
    tiny_config.train.sample_every = 16
    tiny_config.train.name = "with"
    run = artistry.train(tiny_config, progress=False)
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    div = [r for r in rows if "diversity_px" in r]
    assert len(div) >= 2 and all(np.isfinite(r["diversity_px"]) and "diversity_d" in r for r in div)
    tensors, meta = _final_tensors(run)
    assert meta["extra"][KEY]["real_px"] > 0  # the real baseline travels with the checkpoint

    monkeypatch.setattr(api, "CollapseAlarm", _NoAlarm)
    tiny_config.train.name = "without"
    other, _ = _final_tensors(artistry.train(tiny_config, progress=False))
    for k in tensors:
        if k.startswith(("model.", "optim.", "rng.")):
            assert torch.equal(tensors[k], other[k]), k


def test_default_warmup_covers_the_grey_blur_phase():
    from types import SimpleNamespace

    from artistry.config import Config, resolve
    from artistry.training.callbacks.collapse_alarm import WARMUP_STEPS

    def trainer_for(loss):
        cfg = Config()
        cfg.data.path, cfg.loss.loss, cfg.train.batch, cfg.train.steps = "x", loss, 64, 10
        model = SimpleNamespace(can_sample=False)  # skips the baseline measurement
        return SimpleNamespace(cfg=resolve(cfg), state=SimpleNamespace(model=model))

    short = CollapseAlarm(every=1000)
    short.on_train_start(trainer_for("bce"))
    assert short.warmup == WARMUP_STEPS * 64  # 300 steps, not two 1000-image intervals
    critic_heavy = CollapseAlarm(every=1000)
    critic_heavy.on_train_start(trainer_for("hinge"))  # 5 critic batches per step
    assert critic_heavy.warmup == WARMUP_STEPS * 64 * 5
    long = CollapseAlarm(every=50_000)
    long.on_train_start(trainer_for("bce"))
    assert long.warmup == 100_000
