"""Loss objects: each declares its phases, optimizer defaults and what the critic may contain.

The trainer runs `phases()` in order and never asks which loss it holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from ..config import Config
from ..errors import ConfigError
from ..models.base import CriticSpec, GenerativeModel

Logs = dict[str, float]
LossFn = Callable[..., "tuple[torch.Tensor, dict[str, torch.Tensor]]"]  # (model, real, labels) -> (loss, logs)


@dataclass(frozen=True)
class OptimSpec:
    name: str = "adam"
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)


@dataclass
class Phase:
    """One optimisation phase: `compute(model, real, labels)` -> (loss, logs), stepping `optimizer`.

    `labels` are the real batch's class labels ([N] int64) or None (unconditional); a phase passes
    them on to the model (fakes drawn for the same labels, D judging image and label) without
    knowing what they mean.

    Each repeat of a `uses_real` phase draws a fresh real batch (n_critic); other phases get
    the last one drawn (for auxiliary losses). `after_step` runs after each
    optimizer step (e.g. weight clipping).
    """

    name: str
    optimizer: str
    compute: LossFn
    repeats: int = 1
    after_step: Callable[[GenerativeModel], None] | None = None
    uses_real: bool = True


class Loss:
    """Base class; subclasses set the class attributes and implement `phases`."""

    needs_critic = True
    n_critic_default = 1
    allows_batch_norm = True
    default_d_norm = "batch"
    spectral = False

    def __init__(self, cfg: Config):
        self.cfg = cfg

    @classmethod
    def check(cls, cfg: Config) -> None:
        norm = cfg.model.d_norm
        if norm == "batch" and not cls.allows_batch_norm:
            raise ConfigError(
                f"--d-norm: loss '{cls.registry_name}' does not allow batch norm in the critic; use layer or none"
            )

    @classmethod
    def resolve(cls, cfg: Config) -> None:
        """Fill the config's unset loss/optimizer fields with this loss's paper defaults."""
        lo, o, m = cfg.loss, cfg.optim, cfg.model
        if lo.n_critic is None:
            lo.n_critic = cls.n_critic_default
        if cls.needs_critic and m.d_norm is None:
            m.d_norm = cls.default_d_norm
        g = cls.defaults()["G"]
        d = cls.defaults().get("D", g)
        o.optimizer = o.optimizer or g.name
        o.lr_g = o.lr_g if o.lr_g is not None else g.lr
        o.lr_d = o.lr_d if o.lr_d is not None else d.lr
        o.beta1 = o.beta1 if o.beta1 is not None else g.betas[0]
        o.beta2 = o.beta2 if o.beta2 is not None else g.betas[1]

    @classmethod
    def real_batches_per_step(cls, cfg: Config) -> int:
        """How many real batches one step draws: one per critic repeat (or one if no critic)."""
        return (cfg.loss.n_critic or cls.n_critic_default) if cls.needs_critic else 1

    @classmethod
    def defaults(cls) -> dict[str, OptimSpec]:
        """Optimizer per parameter group, from the loss's paper."""
        return {"G": OptimSpec(), "D": OptimSpec()}

    def critic_spec(self) -> CriticSpec:
        m = self.cfg.model
        return CriticSpec(
            norm=m.d_norm or self.default_d_norm,
            spectral=self.spectral,
            mbstd=m.mbstd,
            mbdisc=m.mbdisc,
            pack=self.cfg.loss.pack,
        )

    @property
    def n_critic(self) -> int:
        return self.cfg.loss.n_critic or self.n_critic_default

    def phases(self) -> list[Phase]:
        raise NotImplementedError


def fake_batch(
    model: GenerativeModel, n: int, device: torch.device, labels: torch.Tensor | None = None
) -> torch.Tensor:
    """G(z, labels) for n fresh latents drawn from the global RNG (restored on resume).

    Conditional runs draw the fakes for the real batch's labels, so fakes follow the same label
    distribution as the reals (balanced or not)."""
    return model.generate(model.sample_latents(n, device), labels)
