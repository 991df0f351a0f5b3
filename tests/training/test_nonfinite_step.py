"""A phase whose loss or gradients are NaN/inf does not update its network, decided on the device.

Bugs these catch: NaN weights after one bad batch (the optimizer stepped anyway), a skipped step
that still advanced Adam's moments or step count, and resumed Adam moments whose memory layout
no longer matched a channels_last network (fused Adam then paired the wrong elements).
"""

from __future__ import annotations

import copy

import pytest
import torch

from artistry.build import build_model
from artistry.config import resolve
from artistry.runtime import Runtime
from artistry.training.state import TrainState, build_optimizers
from artistry.training.step import train_step

CPU = Runtime(torch.device("cpu"))


def _state(tiny_config, loss="bce"):
    tiny_config.loss.loss = loss
    cfg = resolve(tiny_config)
    torch.manual_seed(0)
    model, loss_obj = build_model(cfg, CPU)
    state = TrainState(
        model, build_optimizers(cfg, model), None, torch.zeros(1, cfg.model.nz), torch.zeros(1, 3, 32, 32)
    )
    return cfg, state, loss_obj


def _poison(phases, name: str):
    """Make phase `name` return a NaN loss (its gradients are NaN too)."""
    for phase in phases:
        if phase.name == name:
            phase.compute = _nan_loss(phase.compute)
    return phases


def _nan_loss(compute):
    def poisoned(model, real, labels=None):
        loss, logs = compute(model, real, labels)
        return loss * float("nan"), logs

    return poisoned


def _snapshot(state):
    return copy.deepcopy(state.model.state_dict()), copy.deepcopy(
        {k: o.state_dict() for k, o in state.optimizers.items()}
    )


def _real(cfg):
    return torch.rand(cfg.train.batch, 3, 32, 32, generator=torch.Generator().manual_seed(3)) * 2 - 1


@pytest.mark.parametrize("loss", ["bce", "wgan"])  # fused Adam, and RMSprop's zeroed-gradient path
def test_a_nan_critic_phase_leaves_the_critic_alone_and_the_generator_trains(tiny_config, loss):
    cfg, state, loss_obj = _state(tiny_config, loss)
    real = _real(cfg)
    train_step(state, loss_obj.phases(), lambda: real, CPU.autocast, None)  # moments exist
    weights = {k: v.detach().clone() for k, v in state.model.named_parameters()}
    train_step(state, _poison(loss_obj.phases(), "D"), lambda: real, CPU.autocast, None)
    after = dict(state.model.named_parameters())
    for k, v in weights.items():
        if k.startswith("D."):  # (batch-norm running statistics come from the forward pass, not the step)
            assert torch.equal(v, after[k]), k
    assert any(not torch.equal(v, after[k]) for k, v in weights.items() if k.startswith("G."))
    assert all(torch.isfinite(v).all() for v in after.values())
    assert state.skipped.tolist() == [1, 1]


def test_a_skipped_adam_step_keeps_its_moments_and_step_count(tiny_config):
    cfg, state, loss_obj = _state(tiny_config)
    real = _real(cfg)
    train_step(state, loss_obj.phases(), lambda: real, CPU.autocast, None)
    _, optim_before = _snapshot(state)
    train_step(state, _poison(loss_obj.phases(), "G"), lambda: real, CPU.autocast, None)
    g_before, g_after = optim_before["G"]["state"], state.optimizers["G"].state_dict()["state"]
    for i, moments in g_before.items():
        for key, value in moments.items():
            assert torch.equal(value, g_after[i][key]), (i, key)


def test_skipped_steps_are_counted_in_a_row_and_in_all(tiny_config):
    cfg, state, loss_obj = _state(tiny_config)
    real = _real(cfg)
    pattern = [True, True, False, True, False]  # poisoned?
    for bad in pattern:
        phases = _poison(loss_obj.phases(), "G") if bad else loss_obj.phases()
        train_step(state, phases, lambda: real, CPU.autocast, None)
    assert state.skipped.tolist() == [0, 3]
    train_step(state, _poison(loss_obj.phases(), "D"), lambda: real, CPU.autocast, None)
    assert state.skipped.tolist() == [1, 4]


def test_resumed_adam_moments_take_the_layout_of_channels_last_weights(tiny_config):
    from artistry.io import checkpoint as ckpt
    from artistry.training.checkpointing import match_parameter_layout

    w = torch.nn.Parameter(torch.randn(4, 3, 5, 5).contiguous(memory_format=torch.channels_last))
    opt = torch.optim.Adam([w], lr=0.1, fused=True)
    w.grad = torch.randn_like(w)
    opt.step()
    tensors: dict = {}
    packed = ckpt.pack_state_dict("o", opt.state_dict(), tensors)
    stored = {k: v.contiguous() for k, v in tensors.items()}  # as a checkpoint file returns them
    opt.load_state_dict(ckpt.unpack_state_dict(packed, stored))
    assert opt.state[w]["exp_avg"].stride() != w.stride()
    match_parameter_layout(opt)
    for key in ("exp_avg", "exp_avg_sq"):
        assert opt.state[w][key].stride() == w.stride()
        assert torch.equal(opt.state[w][key], stored[f"o.state.0.{key}"])
