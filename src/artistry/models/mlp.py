"""The dense-layer GAN the project's seed scripts started from (Goodfellow et al. style MLPs)."""

from __future__ import annotations

import math

import torch
from torch import nn

from ..config import Config
from ..errors import ConfigError
from ..registry import MODELS
from .base import CriticSpec, GenerativeModel
from .layers import MinibatchDiscrimination, apply_spectral_norm_, init_dcgan_


def _critic_norm_1d(kind: str, width: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm1d(width)
    if kind == "layer":
        return nn.LayerNorm(width)
    return nn.Identity()


class MLPGenerator(nn.Module):
    def __init__(self, nz: int, widths: list[int], out_shape: tuple[int, ...], final_tanh: bool = True):
        super().__init__()
        layers: list[nn.Module] = []
        cin = nz
        for w in widths:
            layers += [nn.Linear(cin, w), nn.BatchNorm1d(w), nn.LeakyReLU(0.2, True)]
            cin = w
        layers += [nn.Linear(cin, math.prod(out_shape))]
        if final_tanh:
            layers += [nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.out_shape = tuple(out_shape)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        # y (class labels) is ignored: this generator is unconditional
        return self.net(z).reshape(z.shape[0], *self.out_shape)  # [N, *out_shape]


class MLPDiscriminator(nn.Module):
    def __init__(self, in_shape: tuple[int, ...], widths: list[int], spec: CriticSpec):
        super().__init__()
        self.pack = spec.pack
        cin = math.prod(in_shape) * spec.pack
        layers: list[nn.Module] = []
        for i, w in enumerate(widths):
            layers += [nn.Linear(cin, w)]
            if i > 0:  # as in DCGAN, no normalisation on the input layer
                layers += [_critic_norm_1d(spec.norm, w)]
            layers += [nn.LeakyReLU(0.2, True)]
            cin = w
        self.mbstd = spec.mbstd
        self.body = nn.Sequential(*layers)
        self.mbdisc = MinibatchDiscrimination(cin, spec.mbdisc) if spec.mbdisc else None
        self.head = nn.Linear(cin + int(spec.mbstd) + spec.mbdisc, 1)
        if spec.spectral:
            apply_spectral_norm_(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(x)[0]

    def forward_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits [N / pack], the last hidden layer before any batch statistic [N / pack, W])."""
        h = self.body(x.reshape(x.shape[0] // self.pack, -1))  # [N/pack, W]
        extra = []
        if self.mbstd:
            extra.append(h.float().std(dim=0, unbiased=False).mean().to(h.dtype).expand(h.shape[0], 1))
        if self.mbdisc is not None:
            extra.append(self.mbdisc(h))  # [N/pack, kernels]
        return self.head(torch.cat([h, *extra], dim=1)).reshape(-1), h


@MODELS.register("mlp")
class MLPGAN(GenerativeModel):
    """Dense GAN: widths scale with --ngf/--ndf (64 gives 256-512-1024 and 512-256)."""

    @classmethod
    def check(cls, cfg: Config) -> None:
        # Its first and last layers are dense over every pixel: 1.2e9 weights at 512 px, width 64.
        if cfg.data.size > 256:
            raise ConfigError("--size: the mlp family goes up to 256 px; use --model fastgan or dcgan above that")

    @classmethod
    def from_config(cls, cfg: Config, critic: CriticSpec | None) -> MLPGAN:
        m, d = cfg.model, cfg.data
        return cls(
            m.nz,
            (d.channels, d.size, d.size),
            [m.ngf * 4, m.ngf * 8, m.ngf * 16],
            [m.ndf * 8, m.ndf * 4],
            critic or CriticSpec(),
        )

    def __init__(
        self,
        nz: int,
        shape: tuple[int, ...],
        g_widths: list[int],
        d_widths: list[int],
        critic: CriticSpec,
        final_tanh: bool = True,
    ):
        super().__init__(nz, shape)
        self.G = MLPGenerator(nz, g_widths, shape, final_tanh)
        self.D = MLPDiscriminator(shape, d_widths, critic)
        self.pack = critic.pack
        init_dcgan_(self)
