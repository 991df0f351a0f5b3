"""Building blocks shared by the model families."""

from __future__ import annotations

import torch
from torch import nn


def init_dcgan_(module: nn.Module) -> None:
    """Radford et al. init: conv/linear weights ~ N(0, 0.02), norm scales ~ N(1, 0.02)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d, nn.GroupNorm, nn.LayerNorm)):
            if m.weight is not None:
                nn.init.normal_(m.weight, 1.0, 0.02)
                nn.init.zeros_(m.bias)


def critic_norm(kind: str, channels: int) -> nn.Module:
    """Normalisation for a critic block: batch, layer (over C,H,W as in WGAN-GP) or none."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    return nn.Identity()


def apply_spectral_norm_(module: nn.Module) -> None:
    """Spectral-normalise every conv and linear weight (Miyato et al., SNGAN)."""
    for name, child in list(module.named_children()):
        if isinstance(child, (nn.Conv2d, nn.Linear)):
            setattr(module, name, nn.utils.parametrizations.spectral_norm(child))
        else:
            apply_spectral_norm_(child)


class MinibatchStd(nn.Module):
    """Appends the across-batch std of features as one extra channel (Karras et al. 2018).

    A collapsed generator produces batches with near-zero std, which D can then see. Groups are
    runs of `group` consecutive images, so under many processes a rank's groups are exactly the
    groups one process forms over the global batch whenever the per-rank batch is a multiple of
    `group` (StyleGAN's groups are per GPU as well).
    """

    def __init__(self, group: int = 4):
        super().__init__()
        self.group = group

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [N, C, H, W] -> [N, C+1, H, W]
        n, _, h, w = x.shape
        g = min(self.group, n)
        while n % g:
            g -= 1
        y = x.float().reshape(-1, g, *x.shape[1:])  # [N/G, G, C, H, W]
        y = (y.var(dim=1, unbiased=False) + 1e-8).sqrt()  # [N/G, C, H, W]
        y = y.mean(dim=(1, 2, 3)).to(x.dtype)  # [N/G]
        y = y.repeat_interleave(g).reshape(n, 1, 1, 1).expand(n, 1, h, w)
        return torch.cat([x, y], dim=1)


def pack_samples(x: torch.Tensor, pack: int) -> torch.Tensor:
    """PacGAN: fold `pack` consecutive samples into the channel axis. [N,C,H,W] -> [N/p, C*p, H, W]."""
    if pack == 1:
        return x
    n = x.shape[0]
    return x.reshape(n // pack, pack * x.shape[1], *x.shape[2:])


class MinibatchDiscrimination(nn.Module):
    """Salimans et al. 2016: for every sample, how many others in its batch lie close to it in
    `kernels` learned projections, so D can see a batch that over-produces one kind of image.

    Unlike minibatch std (one number for the whole batch), these are per-sample densities, so
    a fake batch with too many of one digit or style stands out even when it is diverse overall.
    Returns [N, kernels]; the caller feeds them to its head.
    """

    def __init__(self, in_features: int, kernels: int, kernel_dim: int = 5):
        super().__init__()
        self.kernels, self.kernel_dim = kernels, kernel_dim
        self.T = nn.Linear(in_features, kernels * kernel_dim, bias=False)

    def forward(self, h: torch.Tensor) -> torch.Tensor:  # [N, F] -> [N, kernels]
        m = self.T(h.float().flatten(1)).reshape(-1, self.kernels, self.kernel_dim)  # [N, K, C]
        dist = (m[:, None] - m[None, :]).abs().sum(dim=3)  # [N, N, K] L1
        return (torch.exp(-dist).sum(dim=1) - 1.0).to(h.dtype)  # minus each sample's own term
