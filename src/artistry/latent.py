"""Latent-space paths for walks between seeds."""

from __future__ import annotations

import torch


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation between latents a and b ([nz] each); Gaussian latents keep their norm."""
    a_n, b_n = a / a.norm(), b / b.norm()
    omega = torch.arccos((a_n * b_n).sum().clamp(-1.0, 1.0))
    if omega.abs() < 1e-4:  # nearly parallel: lerp is exact enough and avoids 0/0
        return (1 - t) * a + t * b
    so = torch.sin(omega)
    return (torch.sin((1 - t) * omega) / so) * a + (torch.sin(t * omega) / so) * b


def lerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Straight-line interpolation; right for encoded (posterior-mean) latents, which are not on
    the Gaussian shell that slerp preserves."""
    return (1 - t) * a + t * b


def loop_path(keys: torch.Tensor, frames: int, interp=slerp) -> torch.Tensor:
    """`frames` latents walking key 0 -> 1 -> ... -> last -> 0 (slerp by default). [K, nz] -> [frames, nz]."""
    k = keys.shape[0]
    out = []
    for i in range(frames):
        pos = i * k / frames
        j = int(pos)
        out.append(interp(keys[j % k], keys[(j + 1) % k], pos - j))
    return torch.stack(out)
