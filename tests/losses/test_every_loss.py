"""The shared tester for losses: every registered loss trains every family that accepts it.

Losses and families come from the registries, so a new `@LOSSES.register("name")` loss is tested
here without editing this file. A loss no family accepts fails, as does a loss whose phases
leave the generator untouched or log a non-finite value.
"""

from __future__ import annotations

import pytest
import torch

from artistry.errors import ConfigError
from artistry.registry import LOSSES, MODELS

from .test_adversarial import changed, make_cfg, run_steps


def _accepting_families(loss: str) -> list:
    configs = []
    for family in MODELS.names():
        try:
            configs.append(make_cfg(loss, family))  # resolve() runs the family's and the loss's checks
        except ConfigError:
            continue
    return configs


@pytest.mark.parametrize("loss", LOSSES.names())
def test_every_loss_trains_each_family_that_accepts_it(loss):
    configs = _accepting_families(loss)
    assert configs, f"no registered model family accepts the loss '{loss}'"
    for cfg in configs:
        state, before, logs, drawn = run_steps(cfg)
        assert logs and all(torch.isfinite(torch.as_tensor(v)).all() for lg in logs for v in lg.values())
        assert changed(before, state.model, "G."), cfg.model.model
        assert drawn == 2 * LOSSES.get(loss).real_batches_per_step(cfg) * cfg.train.batch
