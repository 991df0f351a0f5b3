"""DCGAN (Radford et al. 2016): transposed-conv generator, strided-conv discriminator.

One more block per doubling of resolution; widths are capped at 8x the base width so 256 px
stays a sensible size.

Class-conditional (`num_classes` > 0): G's batch norms become class-conditional batch norms
(a scale and shift per label) and D becomes a projection discriminator (Miyato & Koyama 2018):
logit = head(features) + <embed(y), sum-pooled features>.

With `--class-loss W` D also carries an auxiliary classifier (AC-GAN, Odena et al. 2017) on its
mean-pooled features: it learns the labels of the real images only (a classifier also trained on
fakes can lower its loss by spotting them, which teaches G nothing), and G is pushed to make
images it reads as the label asked for. The projection says "is this a real image of label y";
the classifier adds "which label does this look like", the question label agreement asks.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..config import Config
from ..errors import ConfigError
from ..registry import MODELS
from .base import CriticSpec, GenerativeModel
from .conditioning import ClassEmbedding, ConditionalBatchNorm2d, projection_term
from .layers import MinibatchDiscrimination, MinibatchStd, apply_spectral_norm_, critic_norm, init_dcgan_, pack_samples

MAX_MULT = 8


def _widths(size: int, base: int) -> list[int]:
    """Channel widths from the 4x4 stage up to the last hidden stage, e.g. 64px -> [8b,4b,2b,b]."""
    stages = int(math.log2(size)) - 2  # number of 2x up-samplings from 4x4
    return [base * min(2**i, MAX_MULT) for i in reversed(range(stages))]


def _up(cin: int, cout: int, upsample: str) -> list[nn.Module]:
    """One 2x up-sampling: the paper's 4x4 stride-2 ConvTranspose, or nearest-neighbour resize then a
    3x3 conv (Odena et al. 2016), whose even kernel coverage cannot paint checkerboards."""
    if upsample == "resize":
        return [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(cin, cout, 3, 1, 1, bias=False)]
    return [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False)]


class DCGANGenerator(nn.Module):
    def __init__(self, nz: int, ngf: int, channels: int, size: int, upsample: str = "transpose", num_classes: int = 0):
        super().__init__()
        w = _widths(size, ngf)

        def norm(c: int) -> nn.Module:
            return ConditionalBatchNorm2d(c, num_classes) if num_classes else nn.BatchNorm2d(c)

        layers: list[nn.Module] = [
            nn.ConvTranspose2d(nz, w[0], 4, 1, 0, bias=False),
            norm(w[0]),
            nn.ReLU(True),
        ]
        for cin, cout in zip(w[:-1], w[1:]):
            layers += [*_up(cin, cout, upsample), norm(cout), nn.ReLU(True)]
        layers += [*_up(w[-1], channels, upsample), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.num_classes = num_classes

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        x = z[:, :, None, None]  # [N, nz, 1, 1]
        if not self.num_classes:  # unconditional: y is ignored
            return self.net(x)  # [N, C, S, S]
        if y is None:
            raise ValueError("this generator is class-conditional: pass labels y ([N] indices or [N, K] weights)")
        for layer in self.net:
            x = layer(x, y) if isinstance(layer, ConditionalBatchNorm2d) else layer(x)
        return x  # [N, C, S, S]


class DCGANDiscriminator(nn.Module):
    def __init__(
        self, ndf: int, channels: int, size: int, spec: CriticSpec, num_classes: int = 0, classifier: bool = False
    ):
        super().__init__()
        w = list(reversed(_widths(size, ndf)))  # [b, 2b, 4b, 8b] for 64 px
        self.pack = spec.pack
        layers: list[nn.Module] = [nn.Conv2d(channels * spec.pack, w[0], 4, 2, 1), nn.LeakyReLU(0.2, True)]
        for cin, cout in zip(w[:-1], w[1:]):
            layers += [
                nn.Conv2d(cin, cout, 4, 2, 1, bias=spec.norm == "none"),
                critic_norm(spec.norm, cout),
                nn.LeakyReLU(0.2, True),
            ]
        self.features = nn.Sequential(*layers)  # [N, w[-1], 4, 4]
        self.mbstd = MinibatchStd() if spec.mbstd else None
        self.head = nn.Conv2d(w[-1] + int(spec.mbstd), 1, 4, 1, 0)
        # The head is linear in the 4x4 features, so adding a linear read of the batch densities
        # equals concatenating them before it.
        self.mbdisc = MinibatchDiscrimination(w[-1] * 16, spec.mbdisc) if spec.mbdisc else None
        self.mbdisc_head = nn.Linear(spec.mbdisc, 1) if spec.mbdisc else None
        if spec.spectral:
            apply_spectral_norm_(self)
        # projection discriminator: one embedding row per class, read against the pooled features
        self.embed = ClassEmbedding(num_classes, w[-1]) if num_classes else None
        self.classifier = nn.Linear(w[-1], num_classes) if num_classes and classifier else None

    def classify(self, h: torch.Tensor) -> torch.Tensor:
        """Class logits from forward_features' flat features: [N, F] -> [N, K]."""
        pooled = h.reshape(h.shape[0], self.classifier.in_features, -1).mean(dim=2)  # [N, C]
        return self.classifier(pooled)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.forward_features(x, y)[0]

    def forward_features(self, x: torch.Tensor, y: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits [N / pack], the last conv features before any batch layer [N / pack, F])."""
        h = self.features(pack_samples(x, self.pack))  # [N / pack, C, 4, 4]
        logits = self.head(self.mbstd(h) if self.mbstd is not None else h).reshape(-1)  # [N / pack]
        if self.mbdisc is not None:
            logits = logits + self.mbdisc_head(self.mbdisc(h)).reshape(-1)
        if self.embed is not None:
            if y is None:
                raise ValueError("this critic is class-conditional: pass labels y")
            logits = logits + projection_term(h, y, self.embed)
        return logits, h.flatten(1)


@MODELS.register("dcgan")
class DCGAN(GenerativeModel):
    """The DCGAN family; the critic's contents come from the loss (CriticSpec)."""

    supports_conditional = True
    supports_class_loss = True

    @classmethod
    def check(cls, cfg: Config) -> None:
        if cfg.data.size < 16:
            raise ConfigError("--size: dcgan needs at least 16 px")
        if cfg.data.conditional and cfg.loss.pack > 1:  # a packed group mixes labels: no one class to project
            raise ConfigError("--pack: a --conditional dcgan judges one image at a time; use --pack 1")

    @classmethod
    def from_config(cls, cfg: Config, critic: CriticSpec | None) -> DCGAN:
        m, d = cfg.model, cfg.data
        args = (m.nz, m.ngf, m.ndf, d.channels, d.size, critic or CriticSpec(), m.upsample, m.num_classes)
        return cls(*args, class_loss=cfg.loss.class_loss)

    def __init__(
        self,
        nz: int,
        ngf: int,
        ndf: int,
        channels: int,
        size: int,
        critic: CriticSpec,
        upsample: str = "transpose",
        num_classes: int = 0,
        class_loss: float = 0.0,
    ):
        super().__init__(nz, (channels, size, size))
        self.G = DCGANGenerator(nz, ngf, channels, size, upsample, num_classes)
        self.D = DCGANDiscriminator(ndf, channels, size, critic, num_classes, classifier=class_loss > 0)
        self.pack = critic.pack
        self.num_classes = num_classes
        self.class_loss = class_loss if num_classes else 0.0
        init_dcgan_(self)

    # --- the auxiliary classifier (--class-loss): its terms ride on passes the phases make anyway
    def discriminate_real(self, x: torch.Tensor, y: torch.Tensor | None = None):
        if not self.class_loss or y is None:
            return super().discriminate_real(x, y)
        logits, h = self.discriminate_with_features(x, y)
        return logits, (h, y)

    def critic_auxiliary_loss(self, real: torch.Tensor, kept):
        if kept is None:
            return None
        ce = self._class_ce(*kept)
        return self.class_loss * ce, {"class_D": ce}

    def discriminate_fake(self, x: torch.Tensor, y: torch.Tensor | None = None, features: bool = False):
        if not self.class_loss or y is None:
            return super().discriminate_fake(x, y, features)
        logits, h = self.discriminate_with_features(x, y)
        return logits, (h if features else None), (h, y)

    def auxiliary_loss(self, real: torch.Tensor, y: torch.Tensor | None = None, kept: object = None):
        if kept is None:
            return None
        ce = self._class_ce(*kept)
        return self.class_loss * ce, {"class_G": ce}

    def _class_ce(self, h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of D's classifier against indices [N] or class weights [N, K] (a blend)."""
        logits = self.D.classify(h).float()  # [N, K]
        return F.cross_entropy(logits, y.float() if y.is_floating_point() else y)
