"""DiffAugment (Zhao et al. 2020): differentiable augmentations applied to every image D sees.

Real and fake images get the same kinds of random transforms, so D cannot memorise a small
dataset, and G still gets gradients through them. Randomness comes from the global RNG, which
checkpoints restore, so resumed runs stay exact; under many processes each rank takes its rows
of a draw for the global batch (distributed.rows).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..distributed import rows
from ..errors import ConfigError


def _per_image(x: torch.Tensor) -> torch.Tensor:
    """U[0, 1) per image, [N, 1, 1, 1]."""
    return rows(lambda m: torch.rand(m, 1, 1, 1, device=x.device, dtype=x.dtype), x.shape[0])


def _brightness(x: torch.Tensor) -> torch.Tensor:
    return x + (_per_image(x) - 0.5)


def _saturation(x: torch.Tensor) -> torch.Tensor:
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * (_per_image(x) * 2) + mean


def _contrast(x: torch.Tensor) -> torch.Tensor:
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_per_image(x) + 0.5) + mean


def _translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by up to `ratio` of its size, filling with zeros (mid-grey in [-1, 1])."""
    n, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = rows(lambda m: torch.randint(-sh, sh + 1, (m, 1, 1), device=x.device), n)
    dx = rows(lambda m: torch.randint(-sw, sw + 1, (m, 1, 1), device=x.device), n)
    gy, gx = torch.meshgrid(torch.arange(h, device=x.device), torch.arange(w, device=x.device), indexing="ij")
    ys = (gy[None] + dy + 1).clamp(0, h + 1)  # [N, H, W] indices into the padded image
    xs = (gx[None] + dx + 1).clamp(0, w + 1)
    padded = F.pad(x, (1, 1, 1, 1))  # [N, C, H+2, W+2]
    flat = padded.flatten(2)  # [N, C, (H+2)(W+2)]
    idx = (ys * (w + 2) + xs).flatten(1)[:, None, :].expand(-1, x.shape[1], -1)
    return flat.gather(2, idx).reshape_as(x)


def _cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    """Zero one random square of `ratio` x size per image (it may hang over the border)."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    y0 = rows(lambda m: torch.randint(0, h, (m, 1, 1), device=x.device), n) - ch // 2
    x0 = rows(lambda m: torch.randint(0, w, (m, 1, 1), device=x.device), n) - cw // 2
    gy = torch.arange(h, device=x.device)[None, :, None]  # [1, H, 1]
    gx = torch.arange(w, device=x.device)[None, None, :]  # [1, 1, W]
    inside = (gy >= y0) & (gy < y0 + ch) & (gx >= x0) & (gx < x0 + cw)  # [N, H, W]
    return x * (~inside)[:, None].to(x.dtype)


POLICIES = {
    "color": (_brightness, _saturation, _contrast),
    "translation": (_translation,),
    "cutout": (_cutout,),
}


def parse_policy(text: str) -> list[str]:
    """'color,translation' -> ['color', 'translation'] with a clear error for unknown names."""
    names = [p.strip() for p in text.split(",") if p.strip()]
    for name in names:
        if name not in POLICIES:
            raise ConfigError(f"--augment: unknown augmentation '{name}'; choose from {', '.join(POLICIES)}")
    return names


class DiffAugment:
    """Callable applying the policy's transforms, each image augmented with probability `p`.

    Args:
        policy: comma-separated names from POLICIES.
        p: probability that a given image is augmented (1.0 = always, as in DiffAugment;
            an adaptive controller may lower it).
    """

    def __init__(self, policy: str, p: float = 1.0):
        self.names = parse_policy(policy)
        self.p = p

    def __call__(self, x: torch.Tensor) -> torch.Tensor:  # [N, C, H, W] -> [N, C, H, W]
        if not self.names or self.p <= 0:
            return x
        out = x
        for name in self.names:
            for fn in POLICIES[name]:
                out = fn(out)
        if self.p >= 1:
            return out
        keep = (rows(lambda m: torch.rand(m, 1, 1, 1, device=x.device), x.shape[0]) >= self.p).to(x.dtype)
        return keep * x + (1 - keep) * out
