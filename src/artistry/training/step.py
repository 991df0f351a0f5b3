"""One training step: run the loss's phases in order. Knows nothing about which loss it runs.

The step never waits on the device: logs come back as detached device tensors, and whoever
writes them (the metrics log, the progress line) turns them into numbers every so often. One
`float()` per step was one host sync per step, which left a GPU idle between steps.
"""
from __future__ import annotations

import contextlib
from typing import Callable

import torch

from ..losses.base import Phase
from .state import TrainState, update_ema


def _only_train(state: TrainState, optimizer: str) -> None:
    # Skip weight gradients of networks the phase does not step (saves a third of backward).
    for name, opt in state.optimizers.items():
        for group in opt.param_groups:
            for p in group["params"]:
                p.requires_grad_(name == optimizer)


def train_step(state: TrainState, phases: list[Phase], next_batch: Callable[[], torch.Tensor],
               autocast: Callable[[], contextlib.AbstractContextManager],
               ema_beta: Callable[[int], float] | None) -> tuple[dict[str, torch.Tensor], int]:
    """Run every phase once (critic phases `repeats` times). Returns (logs, real images drawn).

    `autocast()` is the runtime's autocast context; `ema_beta(images_seen)` gives the EMA decay
    for this step (None: no EMA). The logs are detached 0-d tensors on the model's device (or
    plain floats for values the loss knows on the host).
    """
    model = state.model
    logs: dict[str, torch.Tensor] = {}
    real = None
    drawn = 0
    for phase in phases:
        opt = state.optimizers[phase.optimizer]
        _only_train(state, phase.optimizer)
        for _ in range(phase.repeats):
            if phase.uses_real or real is None:
                real = next_batch()
                drawn += real.shape[0]
            with autocast():
                loss, phase_logs = phase.compute(model, real)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if phase.after_step is not None:
                phase.after_step(model)
        logs.update(phase_logs)
    for opt in state.optimizers.values():  # leave every parameter trainable for callers
        for group in opt.param_groups:
            for p in group["params"]:
                p.requires_grad_(True)
    state.step += 1
    state.images_seen += drawn
    if state.ema is not None and ema_beta is not None:
        update_ema(state.ema, model.G, ema_beta(state.images_seen))
    return {k: v.detach() if torch.is_tensor(v) else float(v) for k, v in logs.items()}, drawn
