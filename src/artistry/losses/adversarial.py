"""Adversarial losses. Each is a critic phase and a generator phase on the same networks."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..registry import LOSSES
from .base import Loss, OptimSpec, Phase, fake_batch


def _with_auxiliary(model, real, loss, logs):
    """Adds a family's own generator-side loss (e.g. the ELBO of a VAE-GAN)."""
    aux = model.auxiliary_loss(real)
    if aux is not None:
        aux_loss, aux_logs = aux
        loss = loss + aux_loss
        logs = {**logs, **aux_logs}
    return loss, logs


@LOSSES.register("bce")
class NonSaturatingLoss(Loss):
    """Goodfellow et al.'s GAN with the non-saturating generator loss (DCGAN's recipe).

    Optional one-sided label smoothing (Salimans et al. 2016): real targets become 1 - s.
    """

    @classmethod
    def defaults(cls):
        return {"G": OptimSpec("adam", 2e-4, (0.5, 0.999)), "D": OptimSpec("adam", 2e-4, (0.5, 0.999))}

    def phases(self) -> list[Phase]:
        smooth = self.cfg.loss.label_smoothing

        def critic(model, real):
            fake = fake_batch(model, real.shape[0], real.device).detach()
            d_real = model.discriminate(real).float()
            d_fake = model.discriminate(fake).float()
            loss_real = F.binary_cross_entropy_with_logits(d_real, torch.full_like(d_real, 1.0 - smooth))
            loss_fake = F.softplus(d_fake).mean()  # BCE against 0
            return loss_real + loss_fake, {"loss_D": loss_real + loss_fake,
                                           "D_real": torch.sigmoid(d_real).mean(),
                                           "D_fake": torch.sigmoid(d_fake).mean()}

        def generator(model, real):
            d_fake = model.discriminate(fake_batch(model, real.shape[0], real.device)).float()
            loss = F.softplus(-d_fake).mean()  # -log sigmoid(D(G(z)))
            return _with_auxiliary(model, real, loss, {"loss_G": loss})

        return [Phase("D", "D", critic, repeats=self.n_critic), Phase("G", "G", generator, uses_real=False)]
