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
    ema: nn.Module | None       # running average of model.G, used for samples and generation
    fixed_z: torch.Tensor       # [n_samples, nz]: the one noise batch every grid is drawn from
    fixed_real: torch.Tensor    # [n_samples, C, H, W] in [-1, 1]: for reconstruction previews
    step: int = 0
    images_seen: int = 0
    elapsed: float = 0.0        # training seconds, summed over resumes
    extra: dict[str, Any] = field(default_factory=dict)  # callbacks' own JSON-able state

    def sampling_generator(self) -> nn.Module:
        """The network samples come from: the EMA generator when there is one."""
        return self.ema if self.ema is not None else self.model.G


def build_optimizers(cfg: Config, model: GenerativeModel) -> dict[str, torch.optim.Optimizer]:
    """One optimizer per parameter group; G uses --lr-g, every other group --lr-d."""
    o = cfg.optim
    out = {}
    for name, params in model.param_groups().items():
        lr = o.lr_g if name == "G" else o.lr_d
        if o.optimizer == "rmsprop":
            out[name] = torch.optim.RMSprop(params, lr=lr)
        else:
            out[name] = torch.optim.Adam(params, lr=lr, betas=(o.beta1, o.beta2))
    return out


def make_ema(model: GenerativeModel) -> nn.Module:
    ema = copy.deepcopy(model.G).eval()
    ema.requires_grad_(False)
    return ema


@torch.no_grad()
def update_ema(ema: nn.Module, source: nn.Module, beta: float) -> None:
    """ema = beta * ema + (1 - beta) * source for parameters; buffers (BN stats) are copied."""
    for p_ema, p in zip(ema.parameters(), source.parameters()):
        p_ema.lerp_(p.detach().to(p_ema.dtype), 1.0 - beta)
    for b_ema, b in zip(ema.buffers(), source.buffers()):
        b_ema.copy_(b)


EMA_RAMPUP = 0.05


def ema_beta(cfg: Config, images_seen: int) -> float:
    """Per-step decay for a half-life of ema_kimg thousand images (StyleGAN's convention).

    The half-life ramps up as 5% of the images seen so far, so early samples are not stuck
    near the random initial weights of a long-memory average.
    """
    half_life = min(cfg.train.ema_kimg * 1000.0, max(images_seen, 1) * EMA_RAMPUP)
    return 0.5 ** (cfg.train.batch / half_life)
