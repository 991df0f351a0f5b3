"""Denoising autoencoder: a small U-Net that maps corrupted images to clean ones.

It does not sample from noise (`can_sample = False`); a trained run cleans images through
`artistry postprocess --denoise RUN` (or `generate --denoise RUN`). `G` is the denoiser itself,
image -> image, so EMA, checkpoints and sample grids work unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..config import Config
from ..errors import ConfigError
from ..registry import MODELS
from .base import CriticSpec, GenerativeModel

PREVIEW_SEED = 1234  # the corruption shown in every sample grid
PREVIEW_MAX = 16  # triples in a grid


def _conv(cin: int, cout: int, stride: int = 1) -> list[nn.Module]:
    k, p = (4, 1) if stride == 2 else (3, 1)
    return [nn.Conv2d(cin, cout, k, stride, p), nn.LeakyReLU(0.2, True)]


class UNetLite(nn.Module):
    """Fully convolutional U-Net with `depth` 2x down-samplings and a residual output.

    [N, C, H, W] (any H, W; reflect-padded to a multiple of 2^depth inside) -> [N, C, H, W].
    The last conv starts at zero, so a fresh network is the identity and training only has
    to learn the correction. The output is not clamped (pixels are clamped when saved).
    """

    def __init__(self, channels: int, base: int, depth: int = 3):
        super().__init__()
        widths = [base * min(2**i, 4) for i in range(depth + 1)]  # b, 2b, 4b, 4b
        self.depth = depth
        self.inc = nn.Sequential(*_conv(channels, widths[0]))
        self.down = nn.ModuleList(
            nn.Sequential(*_conv(widths[i], widths[i + 1], stride=2), *_conv(widths[i + 1], widths[i + 1]))
            for i in range(depth)
        )
        self.up = nn.ModuleList(nn.ConvTranspose2d(widths[i + 1], widths[i], 4, 2, 1) for i in reversed(range(depth)))
        self.merge = nn.ModuleList(nn.Sequential(*_conv(2 * widths[i], widths[i])) for i in reversed(range(depth)))
        self.out = nn.Conv2d(widths[0], channels, 3, 1, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        # y (class labels) is ignored: the denoiser is unconditional
        h, w = x.shape[-2:]
        m = 2**self.depth
        ph, pw = (-h) % m, (-w) % m
        xp = F.pad(x, (0, pw, 0, ph), mode="reflect" if min(h, w) > max(ph, pw) else "replicate")
        skips = [self.inc(xp)]  # [N, b, H, W]
        for down in self.down:
            skips.append(down(skips[-1]))  # [N, w_i, H / 2^i, W / 2^i]
        y = skips.pop()  # bottleneck
        for up, merge in zip(self.up, self.merge):
            y = F.leaky_relu(up(y), 0.2)
            y = merge(torch.cat([y, skips.pop()], dim=1))
        return (xp + self.out(y))[..., :h, :w]  # residual: noisy + correction


@MODELS.register("dae")
class DenoisingAutoencoder(GenerativeModel):
    """The denoiser family; `--ngf` is the full-resolution width of the U-Net."""

    default_loss = "denoise"
    can_sample = False
    can_denoise = True

    @classmethod
    def check(cls, cfg: Config) -> None:
        if cfg.loss.loss != "denoise":
            raise ConfigError(f"--loss: the dae family trains with 'denoise', got '{cfg.loss.loss}'")

    @classmethod
    def from_config(cls, cfg: Config, critic: CriticSpec | None) -> DenoisingAutoencoder:
        return cls(cfg.data.channels, cfg.data.size, cfg.model.ngf, cfg.loss.noise, nz=cfg.model.nz)

    def __init__(self, channels: int, size: int, base: int, noise: str, nz: int = 1):
        super().__init__(nz, (channels, size, size))
        from ..data.corrupt import parse_noise

        self.G = UNetLite(channels, base)
        self.noise = parse_noise(noise)

    @torch.no_grad()
    def preview(
        self, G: nn.Module, fixed_z: torch.Tensor, fixed_real: torch.Tensor, fixed_y: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Rows of (noisy | cleaned | original) triples from fixed_real, corrupted under a fixed seed."""
        from ..data.corrupt import corrupt

        real = fixed_real[:PREVIEW_MAX]
        noisy = corrupt(real, self.noise, torch.Generator().manual_seed(PREVIEW_SEED))
        cleaned = G(noisy).clamp(-1, 1)
        self.preview_nrow = 3 * min(4, real.shape[0])  # up to 4 triples per row
        return torch.stack([noisy, cleaned, real], dim=1).flatten(0, 1)  # [3N, C, H, W]
