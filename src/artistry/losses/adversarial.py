"""Adversarial losses. Each is a critic phase and a generator phase on the same networks.

A loss only says how critic outputs become the two objectives (`critic_objective`,
`generator_objective`) and declares its paper's recipe as class attributes; the phases, the
optional penalties (--clip, --gp, --r1), generator feature matching (--fm) and the logging are
shared by all of them here.

| loss    | paper                  | optimizer (G and D)        | n_critic | critic           | regulariser     |
|---------|------------------------|----------------------------|----------|------------------|-----------------|
| bce     | Radford et al. (DCGAN) | Adam 2e-4, (0.5, 0.999)    | 1        | batch norm       | -               |
| wgan    | Arjovsky et al.        | RMSprop 5e-5               | 5        | batch norm       | clip c = 0.01   |
| wgan-gp | Gulrajani et al.       | Adam 1e-4, (0, 0.9)        | 5        | layer norm only  | GP lambda = 10  |
| hinge   | Miyato et al. (SNGAN)  | Adam 2e-4, (0, 0.9)        | 5        | spectral norm    | -               |
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..config import Config
from ..errors import ConfigError
from ..registry import LOSSES
from .base import Loss, OptimSpec, Phase, fake_batch
from .penalties import clip_weights_, feature_matching, gradient_penalty, r1_penalty

Tensor = torch.Tensor


def _with_auxiliary(model, real, labels, kept, loss, logs):
    """Adds a family's own generator-side loss (e.g. the ELBO of a VAE-GAN)."""
    return _add(model.auxiliary_loss(real, labels, kept), loss, logs)


def _with_critic_auxiliary(model, real, kept, loss, logs):
    """Adds a family's own critic-side loss (e.g. FastGAN's reconstruction of the real batch)."""
    return _add(model.critic_auxiliary_loss(real, kept), loss, logs)


def _add(aux, loss, logs):
    if aux is not None:
        aux_loss, aux_logs = aux
        loss = loss + aux_loss
        logs = {**logs, **aux_logs}
    return loss, logs


class AdversarialLoss(Loss):
    """Shared phases of the GAN losses: n_critic critic steps, then one generator step.

    Subclasses implement `critic_objective` and `generator_objective` on fp32 critic outputs
    and set their recipe: `defaults()`, `n_critic_default`, `allows_batch_norm`,
    `default_d_norm`, `spectral`, `clip_default`, `gp_default`.
    """

    clip_default: float | None = None  # WGAN weight clipping bound
    gp_default: float = 0.0  # WGAN-GP penalty weight
    uses_label_smoothing = False

    @classmethod
    def resolve(cls, cfg: Config) -> None:
        super().resolve(cfg)
        lo = cfg.loss
        if lo.clip is None:
            lo.clip = cls.clip_default
        if lo.gp is None:
            lo.gp = cls.gp_default

    @classmethod
    def check(cls, cfg: Config) -> None:
        super().check(cfg)
        if cfg.loss.label_smoothing and not cls.uses_label_smoothing:
            raise ConfigError(f"--label-smoothing: only the bce loss uses label smoothing, not '{cls.registry_name}'")

    # --- what a subclass defines ---------------------------------------------------------------
    def critic_objective(self, d_real: Tensor, d_fake: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """Critic loss from logits on real and fake batches (fp32, [N/pack])."""
        raise NotImplementedError

    def generator_objective(self, d_fake: Tensor) -> Tensor:
        """Generator loss from the critic's logits on a fresh fake batch."""
        raise NotImplementedError

    # --- the phases ----------------------------------------------------------------------------
    def phases(self) -> list[Phase]:
        lo = self.cfg.loss
        clip, gp, r1, fm = lo.clip, lo.gp or 0.0, lo.r1, lo.fm

        def critic(model, real, labels=None):
            fake = fake_batch(model, real.shape[0], real.device, labels).detach()
            d_real, kept = model.discriminate_real(real, labels)
            d_real = d_real.float()
            d_fake = model.discriminate(fake, labels).float()
            loss, logs = self.critic_objective(d_real, d_fake)
            # rt: ADA's overfitting heuristic, the share of reals D calls real minus the rest
            logs = {"loss_D": loss, **logs, "rt": torch.sign(d_real.detach()).mean()}
            if gp:
                penalty = gradient_penalty(model, real, fake, labels)
                loss = loss + gp * penalty
                logs["gp"] = penalty
            if r1:
                penalty = r1_penalty(model, real, labels)
                loss = loss + 0.5 * r1 * penalty
                logs["r1"] = penalty
            return _with_critic_auxiliary(model, real, kept, loss, logs)

        def generator(model, real, labels=None):
            fake = fake_batch(model, real.shape[0], real.device, labels)
            d_fake, h_fake, kept = model.discriminate_fake(fake, labels, features=bool(fm))
            loss = self.generator_objective(d_fake.float())
            logs = {"loss_G": loss}
            if fm:
                with torch.no_grad():  # in train mode, like the critic's own pass over this real batch
                    h_real = model.discriminate_with_features(real, labels)[1]
                logs["fm"] = feature_matching(h_fake, h_real)
                loss = loss + fm * logs["fm"]
            return _with_auxiliary(model, real, labels, kept, loss, logs)

        after = (lambda model: clip_weights_(model, clip)) if clip else None
        return [
            Phase("D", "D", critic, repeats=self.n_critic, after_step=after),
            Phase("G", "G", generator, uses_real=False),
        ]


@LOSSES.register("bce")
class NonSaturatingLoss(AdversarialLoss):
    """Goodfellow et al.'s GAN with the non-saturating generator loss (DCGAN's recipe).

    Optional one-sided label smoothing (Salimans et al. 2016): real targets become 1 - s.
    """

    uses_label_smoothing = True

    @classmethod
    def defaults(cls):
        return {"G": OptimSpec("adam", 2e-4, (0.5, 0.999)), "D": OptimSpec("adam", 2e-4, (0.5, 0.999))}

    def critic_objective(self, d_real, d_fake):
        smooth = self.cfg.loss.label_smoothing
        loss_real = F.binary_cross_entropy_with_logits(d_real, torch.full_like(d_real, 1.0 - smooth))
        loss_fake = F.softplus(d_fake).mean()  # BCE against 0
        return loss_real + loss_fake, {"D_real": torch.sigmoid(d_real).mean(), "D_fake": torch.sigmoid(d_fake).mean()}

    def generator_objective(self, d_fake):
        return F.softplus(-d_fake).mean()  # -log sigmoid(D(G(z)))


class _WassersteinObjective(AdversarialLoss):
    """Critic maximises E[D(real)] - E[D(fake)]; no sigmoid anywhere."""

    @classmethod
    def check(cls, cfg: Config) -> None:
        super().check(cfg)
        if cfg.train.ada_target:  # a critic's output has no zero point, so sign(D(real)) means nothing
            raise ConfigError(
                f"--ada-target: the adaptive augmentation reads the sign of D's output, which "
                f"a Wasserstein critic does not have; use --ada-target 0 with --loss {cls.registry_name}"
            )

    def critic_objective(self, d_real, d_fake):
        w = d_real.mean() - d_fake.mean()  # the critic's Wasserstein-1 estimate
        return -w, {"wdist": w}

    def generator_objective(self, d_fake):
        return -d_fake.mean()


@LOSSES.register("wgan")
class WassersteinLoss(_WassersteinObjective):
    """WGAN (Arjovsky et al. 2017): weight clipping c = 0.01, RMSprop 5e-5, n_critic = 5.

    The paper keeps DCGAN's batch-normalised critic; only the sigmoid goes.
    """

    n_critic_default = 5
    clip_default = 0.01

    @classmethod
    def defaults(cls):
        return {"G": OptimSpec("rmsprop", 5e-5, (0.0, 0.0)), "D": OptimSpec("rmsprop", 5e-5, (0.0, 0.0))}


@LOSSES.register("wgan-gp")
class WassersteinGPLoss(_WassersteinObjective):
    """WGAN-GP (Gulrajani et al. 2017): gradient penalty 10 on interpolates, Adam 1e-4 (0, 0.9),
    n_critic = 5. The penalty is per sample, so the critic may not use batch norm (layer norm).
    """

    n_critic_default = 5
    gp_default = 10.0
    allows_batch_norm = False
    default_d_norm = "layer"

    @classmethod
    def defaults(cls):
        return {"G": OptimSpec("adam", 1e-4, (0.0, 0.9)), "D": OptimSpec("adam", 1e-4, (0.0, 0.9))}


@LOSSES.register("hinge")
class HingeLoss(AdversarialLoss):
    """Hinge loss with a spectrally normalised critic (Miyato et al. 2018, SNGAN's ResNet recipe):
    Adam 2e-4 (0, 0.9), n_critic = 5, no batch norm in the critic by default.
    """

    n_critic_default = 5
    default_d_norm = "none"
    spectral = True

    @classmethod
    def defaults(cls):
        return {"G": OptimSpec("adam", 2e-4, (0.0, 0.9)), "D": OptimSpec("adam", 2e-4, (0.0, 0.9))}

    def critic_objective(self, d_real, d_fake):
        loss = F.relu(1.0 - d_real).mean() + F.relu(1.0 + d_fake).mean()
        return loss, {"D_real": d_real.mean(), "D_fake": d_fake.mean()}

    def generator_objective(self, d_fake):
        return -d_fake.mean()
