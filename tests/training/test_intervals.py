"""Grids, collapse checks and checkpoints follow the budget: images for counted budgets, training
time for --max-minutes, so a GPU run at 10,000 img/s does not write ten grids a second."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from artistry.config import resolve
from artistry.training.callbacks.base import Every, as_every, budget_every


def fake_trainer(images_before, images_now, elapsed_before, elapsed_now):
    return SimpleNamespace(
        images_before_step=images_before,
        elapsed_before_step=elapsed_before,
        state=SimpleNamespace(images_seen=images_now, elapsed=elapsed_now),
    )


def test_an_image_interval_fires_when_the_counter_passes_a_multiple():
    every = Every(images=100)
    assert every.due(fake_trainer(64, 128, 0, 0))
    assert not every.due(fake_trainer(128, 192, 0, 0))
    assert every.due(fake_trainer(192, 256, 0, 99))


def test_a_time_interval_fires_on_training_time_whatever_the_images():
    every = Every(seconds=45.0)
    assert not every.due(fake_trainer(0, 10**6, 0.0, 44.9))
    assert every.due(fake_trainer(10**6, 10**6 + 64, 44.9, 45.1))
    assert not every.due(fake_trainer(0, 64, 45.1, 89.0))


def test_a_time_budget_spaces_40_grids_and_5_checkpoints_over_its_minutes(tiny_config):
    tiny_config.train.steps, tiny_config.train.max_minutes = None, 30
    cfg = resolve(tiny_config)
    assert cfg.train.sample_every is None and cfg.train.checkpoint_every is None  # --dry-run shows no 1,000
    grids, ckpts = budget_every(cfg, None, 1 / 40, 500), budget_every(cfg, None, 1 / 5, 500)
    assert grids == Every(seconds=45.0) and ckpts == Every(seconds=360.0)
    # over a simulated run of 30 minutes in 0.1 s steps: 40 grids whatever the speed
    fired = sum(grids.due(fake_trainer(0, 0, t / 10, (t + 1) / 10)) for t in range(30 * 60 * 10))
    assert fired == 40


def test_step_and_epoch_budgets_count_images(tiny_config):
    tiny_config.train.steps = 400  # batch 8: 3,200 images
    cfg = resolve(tiny_config)
    assert budget_every(cfg, cfg.train.sample_every, 1 / 40, 24) == Every(images=80)
    tiny_config.train.steps, tiny_config.train.epochs = None, 100
    cfg = resolve(tiny_config)
    assert budget_every(cfg, cfg.train.sample_every, 1 / 40, 24) == Every(images=60)  # 2,400 / 40
    assert budget_every(cfg, 1234, 1 / 40, 24) == Every(images=1234)  # an explicit --sample-every wins


@pytest.mark.parametrize(
    "value,expected", [(None, Every()), (0, Every()), (50, Every(images=50)), (Every(seconds=2.0), Every(seconds=2.0))]
)
def test_callbacks_take_a_number_of_images_or_an_interval(value, expected):
    assert as_every(value) == expected
