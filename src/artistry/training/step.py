"""One training step: run the loss's phases in order. Knows nothing about which loss it runs.

The step never waits on the device: logs come back as detached device tensors, and whoever
writes them (the metrics log, the progress line) turns them into numbers every so often. One
`float()` per step was one host sync per step, which left a GPU idle between steps.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import torch

from ..losses.base import Phase
from .state import TrainState, update_ema


def _only_train(state: TrainState, optimizer: str) -> None:
    # Skip weight gradients of networks the phase does not step (saves a third of backward).
    for name, opt in state.optimizers.items():
        for group in opt.param_groups:
            for p in group["params"]:
                p.requires_grad_(name == optimizer)


def _finite(loss: torch.Tensor, opt: torch.optim.Optimizer) -> torch.Tensor:
    """0-d bool on the device: the loss and every gradient the optimizer holds are finite."""
    grads = [p.grad for group in opt.param_groups for p in group["params"] if p.grad is not None]
    total = loss.detach().float().sum()
    if grads:  # one norm per tensor in one launch; a NaN or inf anywhere makes the sum non-finite
        total = total + torch.stack(torch._foreach_norm(grads)).float().sum()
    return torch.isfinite(total)


def _step_where(opt: torch.optim.Optimizer, ok: torch.Tensor) -> None:
    """opt.step() where `ok`, no update where not, decided on the device (no host sync).

    Fused Adam takes the flag the way torch.amp.GradScaler hands it over (`found_inf`): the
    kernel then leaves weights, moments and the step count alone. Other optimizers get zeroed
    gradients, so RMSprop (no momentum) leaves the weights as they were; its running average of
    squared gradients decays by one step.
    """
    if opt.defaults.get("fused"):
        opt.found_inf = (~ok).float()
        try:
            opt.step()
        finally:
            del opt.found_inf
        return
    keep = ok.to(torch.float32)
    for group in opt.param_groups:
        for p in group["params"]:
            if p.grad is not None:
                p.grad.nan_to_num_(0.0, 0.0, 0.0).mul_(keep.to(p.grad.dtype))
    opt.step()


def _split(batch) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(images, labels) from a loader's (images, labels) or a bare image batch (no labels)."""
    return batch if isinstance(batch, tuple) else (batch, None)


def train_step(
    state: TrainState,
    phases: list[Phase],
    next_batch: Callable[[], torch.Tensor | tuple[torch.Tensor, torch.Tensor | None]],
    autocast: Callable[[], contextlib.AbstractContextManager],
    ema_beta: Callable[[int], float] | None,
) -> tuple[dict[str, torch.Tensor], int]:
    """Run every phase once (critic phases `repeats` times). Returns (logs, real images drawn).

    `next_batch()` gives a real batch [B, C, H, W], or (batch, labels [B] int64 or None) as the
    BatchLoader does; the labels go to every phase with the batch they came with.
    `autocast()` is the runtime's autocast context; `ema_beta(images_seen)` gives the EMA decay
    for this step (None: no EMA). The logs are detached 0-d tensors on the model's device (or
    plain floats for values the loss knows on the host).

    A phase whose loss or gradients are not finite (NaN/inf) does not update its network; the
    step is counted in `state.skipped` for the non-finite guard (callbacks/nonfinite_guard.py),
    which rolls the run back when such steps keep coming.
    """
    model = state.model
    logs: dict[str, torch.Tensor] = {}
    real = labels = None
    drawn = 0
    all_ok = None  # 0-d bool on the device: every phase's loss and gradients were finite
    for phase in phases:
        opt = state.optimizers[phase.optimizer]
        _only_train(state, phase.optimizer)
        for _ in range(phase.repeats):
            if phase.uses_real or real is None:
                real, labels = _split(next_batch())
                drawn += real.shape[0] * state.world  # images seen count the global batch
            with autocast():
                loss, phase_logs = phase.compute(model, real, labels)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if state.grad_sync is not None:  # many processes: average this network's gradients first,
                loss = state.grad_sync(loss, opt)  # so every rank makes the same skip decision
            ok = _finite(loss, opt)
            _step_where(opt, ok)
            all_ok = ok if all_ok is None else all_ok & ok
            if phase.after_step is not None:
                phase.after_step(model)
        logs.update(phase_logs)
    for opt in state.optimizers.values():  # leave every parameter trainable for callers
        for group in opt.param_groups:
            for p in group["params"]:
                p.requires_grad_(True)
    state.count_skipped(~all_ok)
    state.step += 1
    state.images_seen += drawn
    if state.ema is not None and ema_beta is not None:
        update_ema(state.ema, model.G, ema_beta(state.images_seen))
    return {k: v.detach() if torch.is_tensor(v) else float(v) for k, v in logs.items()}, drawn
