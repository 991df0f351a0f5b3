"""Latent walks: slerp keeps Gaussian latents on their shell; the loop visits every key in order."""

from __future__ import annotations

import torch

from artistry.latent import lerp, loop_path, slerp


def _angle(u, v):
    return torch.arccos((u / u.norm() * v / v.norm()).sum().clamp(-1, 1))


def test_slerp_ends_on_the_keys_keeps_the_norm_and_moves_at_constant_angle():
    """lerp shrinks the midpoint of two Gaussian latents (|mid| ~ |a| / sqrt 2), which G sees as
    an unusual, low-contrast latent; slerp must not."""
    torch.manual_seed(0)
    a = torch.randn(64)
    b = torch.randn(64)
    b = b * (a.norm() / b.norm())  # equal norms: the path stays on that sphere
    torch.testing.assert_close(slerp(a, b, 0.0), a)
    torch.testing.assert_close(slerp(a, b, 1.0), b)
    omega = _angle(a, b)
    for t in (0.25, 0.5, 0.8):
        p = slerp(a, b, t)
        torch.testing.assert_close(p.norm(), a.norm())
        torch.testing.assert_close(_angle(a, p), t * omega, atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(_angle(p, b), (1 - t) * omega, atol=1e-5, rtol=1e-4)
    assert lerp(a, b, 0.5).norm() < 0.8 * a.norm()  # what slerp avoids (near-orthogonal in 64-D)


def test_slerp_of_nearly_parallel_latents_is_finite():
    a = torch.randn(16)
    p = slerp(a, a * (1 + 1e-7), 0.5)  # omega ~ 0: 0/0 without the lerp fallback
    assert torch.isfinite(p).all()
    torch.testing.assert_close(p, a, rtol=1e-5, atol=1e-6)


def test_loop_path_visits_each_key_in_order_and_returns_to_the_first():
    torch.manual_seed(1)
    keys = torch.randn(3, 8)
    path = loop_path(keys, frames=6)  # two frames per key
    assert path.shape == (6, 8)
    for i in range(3):
        torch.testing.assert_close(path[2 * i], keys[i])
    torch.testing.assert_close(path[5], slerp(keys[2], keys[0], 0.5))  # the last leg closes the loop
    straight = loop_path(keys, frames=6, interp=lerp)
    torch.testing.assert_close(straight[1], (keys[0] + keys[1]) / 2)
