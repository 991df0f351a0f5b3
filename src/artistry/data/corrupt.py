"""Corruptions a denoising autoencoder learns to undo, parsed from the `--noise` flag.

Spec grammar: comma-separated items, each `kind` or `kind:value`:

    gaussian[:sigma]      additive Gaussian noise; sigma on the [0, 1] pixel scale   [0.2]
    saltpepper[:p]        a fraction p of pixels set to pure black or white          [0.05]
    blur[:radius]         Gaussian blur, radius = sigma in pixels                    [1.0]
    mask[:fraction]       cut-out rectangles (mid grey) covering ~fraction of area   [0.25]

Every image gets each listed corruption with probability 1/2 (at least one, so nothing is
left clean), applied in the order listed; with one kind listed every image gets it. Images are
tensors [N, C, H, W] in [-1, 1]; random numbers come from the CPU generator given (or the
global CPU RNG, which checkpoints restore), so results do not depend on the device.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..errors import ConfigError

KINDS = {  # kind -> (default value, lowest allowed, highest allowed)
    "gaussian": (0.2, 0.0, 1.0),
    "saltpepper": (0.05, 0.0, 1.0),
    "blur": (1.0, 0.1, 10.0),
    "mask": (0.25, 0.0, 0.9),
}
MASK_FILL = 0.0  # mid grey in [-1, 1]: neither ink nor paper


@dataclass(frozen=True)
class Corruption:
    kind: str
    value: float

    def __str__(self) -> str:
        return f"{self.kind}:{self.value:g}"


def parse_noise(spec: str) -> list[Corruption]:
    """Parse a `--noise` spec such as "gaussian:0.2,saltpepper:0.05,blur,mask".

    Raises:
        ConfigError: naming `--noise`, the bad item and the allowed kinds/ranges.
    """
    items = [s.strip() for s in (spec or "").split(",") if s.strip()]
    if not items:
        raise ConfigError(f"--noise: give at least one corruption ({', '.join(KINDS)}), got '{spec}'")
    out = []
    for item in items:
        kind, _, raw = item.partition(":")
        kind = kind.strip().lower()
        if kind not in KINDS:
            raise ConfigError(
                f"--noise: unknown corruption '{kind}' in '{spec}'; "
                f"choose from {', '.join(KINDS)} (e.g. gaussian:0.2,blur:1)"
            )
        default, lo, hi = KINDS[kind]
        try:
            value = float(raw) if raw.strip() else default
        except ValueError:
            raise ConfigError(f"--noise: '{item}' needs a number after ':', e.g. {kind}:{default}") from None
        if not (lo <= value <= hi) or not math.isfinite(value):
            raise ConfigError(f"--noise: {kind} value must be in [{lo}, {hi}], got {value:g}")
        out.append(Corruption(kind, value))
    return out


def corrupt(x: torch.Tensor, corruptions: list[Corruption], generator: torch.Generator | None = None) -> torch.Tensor:
    """Apply a random mix of the corruptions to each image (see the module docstring).

    Args:
        x: clean images [N, C, H, W] in [-1, 1].
        corruptions: from parse_noise().
        generator: a CPU generator for reproducible noise; None uses the global RNG.

    Returns:
        Corrupted images, same shape/device/dtype, in [-1, 1].
    """
    n = x.shape[0]
    if len(corruptions) == 1:
        chosen = torch.ones(n, 1, dtype=torch.bool)
    else:
        chosen = torch.rand(n, len(corruptions), generator=generator) < 0.5  # [N, K]
        none = ~chosen.any(dim=1)
        pick = torch.randint(len(corruptions), (n,), generator=generator)
        chosen[none, pick[none]] = True
    out = x
    for k, c in enumerate(corruptions):
        sel = chosen[:, k].to(x.device)[:, None, None, None]  # [N, 1, 1, 1]
        out = torch.where(sel, apply_one(out, c, generator), out)
    return out


def apply_one(x: torch.Tensor, c: Corruption, generator: torch.Generator | None = None) -> torch.Tensor:
    """One corruption on every image of the batch. [N, C, H, W] in [-1, 1] -> same."""
    n, ch, h, w = x.shape
    if c.kind == "gaussian":
        noise = torch.randn(x.shape, generator=generator).to(x.device, x.dtype)
        return (x + noise * (2.0 * c.value)).clamp(-1.0, 1.0)  # sigma on [0,1] = 2 sigma on [-1,1]
    if c.kind == "saltpepper":
        hit = torch.rand(n, 1, h, w, generator=generator) < c.value  # same pixel in every channel
        white = torch.rand(n, 1, h, w, generator=generator) < 0.5
        value = (white.float() * 2 - 1).to(x.device, x.dtype)
        return torch.where(hit.to(x.device), value, x)
    if c.kind == "blur":
        return gaussian_blur(x, c.value)
    if c.kind == "mask":
        return _cutout(x, c.value, generator)
    raise ValueError(c.kind)


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur with reflect padding. [N, C, H, W] -> same."""
    r = max(1, int(math.ceil(2.5 * sigma)))
    r = min(r, x.shape[-1] - 1, x.shape[-2] - 1)
    t = torch.arange(-r, r + 1, dtype=torch.float32, device=x.device)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = (k / k.sum()).to(x.dtype)
    ch = x.shape[1]
    y = F.pad(x, (r, r, r, r), mode="reflect")
    y = F.conv2d(y, k.view(1, 1, 1, -1).expand(ch, 1, 1, -1), groups=ch)  # along W
    y = F.conv2d(y, k.view(1, 1, -1, 1).expand(ch, 1, -1, 1), groups=ch)  # along H
    return y


def _cutout(x: torch.Tensor, fraction: float, generator: torch.Generator | None) -> torch.Tensor:
    """1-3 rectangles per image, together covering about `fraction` of its area."""
    n, _, h, w = x.shape
    keep = torch.ones(n, 1, h, w, dtype=torch.bool)
    counts = torch.randint(1, 4, (n,), generator=generator)
    for i in range(n):
        k = int(counts[i])
        for _ in range(k):
            aspect = math.exp(float(torch.empty(1).uniform_(-0.7, 0.7, generator=generator)))
            area = fraction * h * w / k
            rh = max(1, min(h, int(round(math.sqrt(area / aspect)))))
            rw = max(1, min(w, int(round(math.sqrt(area * aspect)))))
            top = int(torch.randint(0, h - rh + 1, (1,), generator=generator))
            left = int(torch.randint(0, w - rw + 1, (1,), generator=generator))
            keep[i, 0, top : top + rh, left : left + rw] = False
    return torch.where(keep.to(x.device), x, torch.full_like(x, MASK_FILL))
