"""Regularisers shared by the adversarial losses: weight clipping, gradient penalty, R1 (critic)
and feature matching (generator).

Each works with any critic loss and any model family (it only uses `model.discriminate`,
`model.discriminate_with_features` and `model.param_groups()`), so `--gp`, `--clip`, `--r1`
and `--fm` combine freely with `--loss`.
The double-backward penalties run in fp32 even when the trainer runs bf16 autocast.
"""

from __future__ import annotations

import contextlib

import torch

from ..distributed import rows
from ..models.base import GenerativeModel


@torch.no_grad()
def clip_weights_(model: GenerativeModel, bound: float, group: str = "D") -> None:
    """WGAN (Arjovsky et al. 2017): clamp every critic parameter to [-bound, bound] in place."""
    for p in model.param_groups()[group]:
        p.clamp_(-bound, bound)


def _autocast_off(device: torch.device):
    """Autocast disabled on `device`; nothing to disable where autocast does not exist (the meta
    device, on which the tests prove that a step never waits on the host)."""
    if device.type == "meta":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, enabled=False)


def _input_grad_norms_sq(model: GenerativeModel, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
    """||d D(x) / d x||^2 per critic input (one packed group of `pack` samples), [N / pack].

    Forward and the differentiable backward both run with autocast off: with create_graph the
    backward ops are recorded like forward ops and would otherwise be cast to bf16 too.
    """
    pack = getattr(model, "pack", 1)
    with _autocast_off(x.device):
        out = model.discriminate(x, labels).float()
        (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)
        return grad.float().reshape(x.shape[0] // pack, -1).square().sum(dim=1)


def gradient_penalty(
    model: GenerativeModel, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor | None = None
) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al. 2017): E[(||grad_x D(x_hat)||_2 - 1)^2] on random interpolates.

    x_hat = eps * real + (1 - eps) * fake with eps ~ U[0, 1] per critic input; with PacGAN
    packing one eps is shared by the `pack` samples the critic sees together, so the norm is
    that of the critic's (packed) input. A conditional critic judges the interpolates with the
    batch's labels (the fakes were drawn for them). Returns the unweighted penalty (a scalar).
    """
    pack = getattr(model, "pack", 1)
    n = real.shape[0]
    eps = rows(lambda m: torch.rand(m, device=real.device), n // pack).repeat_interleave(pack)
    eps = eps.reshape(n, *([1] * (real.dim() - 1)))
    x_hat = torch.lerp(fake.detach().float(), real.detach().float(), eps).requires_grad_(True)
    norms = _input_grad_norms_sq(model, x_hat, labels).add(1e-12).sqrt()
    return (norms - 1.0).square().mean()


def r1_penalty(model: GenerativeModel, real: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): E[||grad_x D(x)||_2^2] on real images, unweighted.

    The loss adds gamma / 2 times this, as in the paper and StyleGAN2.
    """
    x = real.detach().float().requires_grad_(True)
    return _input_grad_norms_sq(model, x, labels).mean()


def feature_matching(h_fake: torch.Tensor, h_real: torch.Tensor) -> torch.Tensor:
    """Salimans et al. 2016: ||E f(G(z)) - E f(x)||^2 over the critic's last hidden features.

    A batch statistic on the generator's side: a batch that over-draws one kind of image moves
    the mean features, so G is pushed back toward the data's mix without giving the critic any
    extra capacity. `h_real` carries no gradient.
    """
    diff = h_fake.float().mean(dim=0) - h_real.detach().float().mean(dim=0)
    return diff.square().sum()
