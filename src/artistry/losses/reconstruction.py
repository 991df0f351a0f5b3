"""Reconstruction losses: the VAE's ELBO and the denoising autoencoder's loss.

Both are one phase stepping the "G" optimizer (which holds every trained parameter of the
family: encoder + decoder, or the denoiser).

Reconstruction term of the ELBO: Bernoulli cross-entropy of pixels on [0, 1], summed over
pixels (nats per image). Why not MSE: the source works are black-and-white, where pixels
really are two-valued and Bernoulli is the right likelihood; BCE is already in nats, so
beta = 1 is the true ELBO with nothing to tune, whereas summed squared error is a Gaussian with
a fixed variance (1/2 on [0, 1] at unit weight: noise half the pixel range) that over-weights the
KL and blurs more; and BCE's gradient on the decoder logits is (p - x), which does not vanish on
saturated (pure black/white) pixels as squared error through a squashing output does. PSNR, the
number we report, is logged beside it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..config import Config
from ..errors import ConfigError
from ..registry import LOSSES
from .base import Loss, OptimSpec, Phase


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma^2) || N(0, I)) per sample, in nats: [N, nz] -> [N] (always >= 0)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1)


def psnr(a: torch.Tensor, b: torch.Tensor, peak: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio per image in dB: [N, ...] x2 -> [N]. Inputs on [0, peak]."""
    mse = (a.float() - b.float()).pow(2).flatten(1).mean(dim=1)
    return 10.0 * torch.log10(peak**2 / mse.clamp_min(1e-10))


def elbo(model, real: torch.Tensor, labels: torch.Tensor | None = None):
    """Negative ELBO of a batch, averaged over images: recon + w * KL, w ramped by the warm-up.

    Args:
        model: a ConvVAE (encode, reparameterize, decode_logits, kl_weight, elbo_images).
        real: images [N, C, H, W] in [-1, 1].
        labels: the batch's class labels [N] or None; a conditional VAE encodes and decodes with them.

    Returns:
        (loss, logs) with logs loss_G, recon, kl, kl_weight and psnr (of the sampled decode).
    """
    mu, logvar = model.encode(real, labels)  # [N, nz] each
    z = model.reparameterize(mu, logvar)  # [N, nz]
    logits = model.decode_logits(z, y=labels).float()  # [N, C, H, W]
    target = (real.float() + 1.0) / 2.0  # pixels on [0, 1]
    recon = F.binary_cross_entropy_with_logits(logits, target, reduction="none").flatten(1).sum(1).mean()
    kl = kl_divergence(mu.float(), logvar.float()).mean()
    w = model.kl_weight()
    with torch.no_grad():
        model.elbo_images += real.shape[0]
        quality = psnr(torch.sigmoid(logits), target).mean()
    loss = recon + w * kl
    return loss, {"loss_G": loss, "recon": recon, "kl": kl, "kl_weight": w, "psnr": quality}


def _need_family(cfg: Config, loss: str, family: str) -> None:
    if cfg.model.model != family:
        raise ConfigError(
            f"--loss: '{loss}' trains the {family} family (--model {family}); "
            f"--model {cfg.model.model} needs another loss"
        )


class _ReconstructionLoss(Loss):
    """A loss that trains one model family alone (no critic), with Adam 1e-3."""

    needs_critic = False
    family = ""

    @classmethod
    def defaults(cls):
        return {"G": OptimSpec("adam", 1e-3, (0.9, 0.999))}

    @classmethod
    def check(cls, cfg: Config) -> None:
        super().check(cfg)
        _need_family(cfg, cls.registry_name, cls.family)


@LOSSES.register("elbo")
class ElboLoss(_ReconstructionLoss):
    """VAE: Bernoulli reconstruction + beta * KL, beta warmed up over `--kl-warmup` images."""

    family = "vae"

    def phases(self) -> list[Phase]:
        return [Phase("G", "G", elbo)]


@LOSSES.register("denoise")
class DenoiseLoss(_ReconstructionLoss):
    """DAE: corrupt a real batch with the `--noise` mix, regress the clean batch (MSE = PSNR)."""

    family = "dae"

    def __init__(self, cfg: Config):
        super().__init__(cfg)
        from ..data.corrupt import parse_noise

        self.noise = parse_noise(cfg.loss.noise)

    @classmethod
    def check(cls, cfg: Config) -> None:
        from ..data.corrupt import parse_noise

        super().check(cfg)
        parse_noise(cfg.loss.noise)

    def phases(self) -> list[Phase]:
        from ..data.corrupt import corrupt
        from ..distributed import on_global_batch

        def step(model, real, labels=None):  # labels: unused, the denoiser is unconditional
            # [N, C, H, W], global RNG; many processes: this rank's rows of the global batch's corruption
            noisy = on_global_batch(lambda x: corrupt(x, self.noise), real)
            out = model.G(noisy)  # [N, C, H, W]
            loss = F.mse_loss(out.float(), real.float())
            with torch.no_grad():
                clean01 = (real.float() + 1) / 2
                logs = {
                    "loss_G": loss,
                    "psnr_noisy": psnr((noisy.float() + 1) / 2, clean01).mean(),
                    "psnr_out": psnr(((out.float() + 1) / 2).clamp(0, 1), clean01).mean(),
                }
            return loss, logs

        return [Phase("G", "G", step)]
