"""Everything a run needs to continue exactly where it stopped."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..config import Config
from ..models.base import GenerativeModel


@dataclass
class TrainState:
    model: GenerativeModel
    optimizers: dict[str, torch.optim.Optimizer]
    ema: nn.Module | None  # running average of model.G, used for samples and generation
    fixed_z: torch.Tensor  # [n_samples, nz]: the one noise batch every grid is drawn from
    fixed_real: torch.Tensor  # [n_samples, C, H, W] in [-1, 1]: for reconstruction previews
    # conditional runs: the grid's labels, one label per row repeated across its columns, int64
    # [rows * columns <= n_samples] (see api.grid_labels); None when unconditional
    fixed_y: torch.Tensor | None = None
    # conditional runs: each label's share of the training images, float64 [K] on the CPU, for
    # drawing labels like the data's (in-training evaluation); from the data, so not checkpointed
    label_freq: torch.Tensor | None = None
    step: int = 0
    images_seen: int = 0
    elapsed: float = 0.0  # training seconds, summed over resumes
    extra: dict[str, Any] = field(default_factory=dict)  # callbacks' own JSON-able state
    # [steps skipped in a row, steps skipped in all] since this session started or rolled back,
    # on the device (int64), so the step never waits for the host to count
    skipped: torch.Tensor | None = None
    # many processes (distributed.py): each draws batch / world images and `grad_sync(loss, opt)`
    # averages the stepped network's gradients over them, returning the averaged loss
    world: int = 1
    grad_sync: Any = None

    def count_skipped(self, bad: torch.Tensor) -> None:
        """Count one step; `bad` (0-d bool) says whether any phase skipped its update."""
        bad = bad.to(torch.int64)
        if self.skipped is None:
            self.skipped = torch.zeros(2, dtype=torch.int64, device=bad.device)
        self.skipped = torch.stack([(self.skipped[0] + bad) * bad, self.skipped[1] + bad])

    def sampling_generator(self) -> nn.Module:
        """The network samples come from: the EMA generator when there is one."""
        return self.ema if self.ema is not None else self.model.G


FUSED_ADAM_DEVICES = ("cpu", "cuda")


def build_optimizers(cfg: Config, model: GenerativeModel) -> dict[str, torch.optim.Optimizer]:
    """One optimizer per parameter group; G uses --lr-g, every other group --lr-d.

    Adam runs fused (one kernel for every parameter) where PyTorch has the fused kernel (CPU and
    CUDA): on a GPU a launch per parameter and operation dominates a small network's step; on a
    CPU the optimizer step alone measured 1.5-4x faster than the for-loop and foreach paths
    (busy 2-core EPYC), though the whole step is within noise of before; and the fused kernel
    can skip a non-finite step on the device (step.py). RMSprop takes the multi-tensor path.
    """
    o = cfg.optim
    out = {}
    for name, params in model.param_groups().items():
        lr = o.lr_g if name == "G" else o.lr_d
        fused = bool(params) and params[0].device.type in FUSED_ADAM_DEVICES
        if o.optimizer == "rmsprop":
            out[name] = torch.optim.RMSprop(params, lr=lr, foreach=True)
        else:
            out[name] = torch.optim.Adam(
                params, lr=lr, betas=(o.beta1, o.beta2), fused=fused or None, foreach=None if fused else True
            )
    return out


def make_ema(model: GenerativeModel) -> nn.Module:
    ema = copy.deepcopy(model.G).eval()
    ema.requires_grad_(False)
    return ema


@torch.no_grad()
def update_ema(ema: nn.Module, source: nn.Module, beta: float) -> None:
    """ema = beta * ema + (1 - beta) * source for parameters; buffers (BN stats) are copied.

    Multi-tensor ops: two launches for the whole network instead of two per tensor.
    """
    torch._foreach_lerp_(list(ema.parameters()), [p.detach() for p in source.parameters()], 1.0 - beta)
    buffers = list(ema.buffers())
    if buffers:  # a network without batch norm has none
        torch._foreach_copy_(buffers, list(source.buffers()))


EMA_RAMPUP = 0.05


def ema_beta(cfg: Config, images_seen: int) -> float:
    """Per-step decay for a half-life of ema_kimg thousand images (StyleGAN's convention).

    The half-life ramps up as 5% of the images seen so far, so early samples are not stuck
    near the random initial weights of a long-memory average.
    """
    half_life = min(cfg.train.ema_kimg * 1000.0, max(images_seen, 1) * EMA_RAMPUP)
    return 0.5 ** (cfg.train.batch / half_life)
