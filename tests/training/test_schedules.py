"""Budget-aware schedules: learning-rate tail and the ADA probability controller."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

import artistry
from artistry.training.callbacks.adaptive_augment import STATE_KEY, AdaptiveAugment
from artistry.training.callbacks.base import Callback
from artistry.training.schedules import lr_scale, next_augment_probability


def test_lr_scale_is_flat_then_linear_to_zero():
    assert [lr_scale(p, 0.2) for p in (0.0, 0.5, 0.8)] == pytest.approx([1.0, 1.0, 1.0])
    assert lr_scale(0.9, 0.2) == pytest.approx(0.5)
    assert lr_scale(1.0, 0.2) == 0.0
    assert lr_scale(0.99, 0.0) == 1.0 and lr_scale(None, 0.2) == 1.0


class RecordLearningRates(Callback):
    def __init__(self):
        self.lrs = []

    def on_step_end(self, trainer, logs):
        self.lrs.append(trainer.state.optimizers["G"].param_groups[0]["lr"])


def test_trainer_decays_learning_rates_over_the_tail(tiny_config):
    tiny_config.train.steps, tiny_config.train.lr_tail = 4, 0.5
    recorder = RecordLearningRates()
    artistry.train(tiny_config, callbacks=[recorder], progress=False)
    # the rate of step k is set from progress k/4 before it runs: 1, 1, 1, 0.5 times 2e-4
    assert recorder.lrs == pytest.approx([2e-4, 2e-4, 2e-4, 1e-4])


def test_ada_probability_moves_toward_the_target():
    assert next_augment_probability(0.2, rt=0.9, target=0.6, images=64, kimg=1.0) == pytest.approx(0.264)
    assert next_augment_probability(0.2, rt=0.1, target=0.6, images=64, kimg=1.0) == pytest.approx(0.136)
    assert next_augment_probability(0.2, rt=0.6, target=0.6, images=64, kimg=1.0) == 0.2
    assert next_augment_probability(0.99, rt=1.0, target=0.6, images=640, kimg=1.0) == 1.0
    assert next_augment_probability(0.01, rt=-1.0, target=0.6, images=640, kimg=1.0) == 0.0


def test_adaptive_augment_raises_p_for_an_overfitting_discriminator():
    augment = SimpleNamespace(p=0.0)
    state = SimpleNamespace(images_seen=0, extra={})
    trainer = SimpleNamespace(state=state, images_before_step=0)
    cb = AdaptiveAugment(augment, target=0.6, kimg=1.0)
    cb.on_train_start(trainer)
    seen = []
    for rt in [1.0] * 5 + [0.0] * 2:  # D sure of every real, then unsure
        trainer.images_before_step, state.images_seen = state.images_seen, state.images_seen + 100
        logs = {"rt": rt}
        cb.on_step_end(trainer, logs)
        seen.append(logs["aug_p"])
    assert seen == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5, 0.4, 0.3])
    assert state.extra[STATE_KEY] == pytest.approx(0.3)


def test_critic_logs_the_overfitting_heuristic(tiny_config):
    tiny_config.train.augment, tiny_config.train.ada_target = "translation", 0.6
    run = artistry.train(tiny_config, progress=False)
    import json

    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    logged = [r for r in records if "rt" in r]
    assert logged and all(-1 <= r["rt"] <= 1 and 0 <= r["aug_p"] <= 1 for r in logged)
    assert torch.isfinite(torch.tensor([r["loss_D"] for r in logged])).all()
