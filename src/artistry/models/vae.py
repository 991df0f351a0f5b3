"""Convolutional VAE (Kingma & Welling 2014), optionally a VAE-GAN (Larsen et al. 2016).

The encoder mirrors the DCGAN discriminator's widths and ends in a 4x4 conv to (mu, logvar);
the decoder *is* the DCGAN generator, so `G` (decoder) samples, EMA, generate and interpolate
work exactly as for a GAN. With an adversarial loss (`--loss bce`) the family also builds the
DCGAN discriminator and hands the ELBO to the loss through `auxiliary_loss` (VAE-GAN).

Class-conditional (`num_classes` > 0, `--conditional`): a conditional VAE (Sohn et al. 2015),
q(z|x, y) and p(x|z, y) with the prior p(z) = N(0, I) for every label. The label enters the
encoder at its head (a learned per-label shift of (mu, logvar), which is exactly a one-hot label
concatenated to the features the head reads: cheap, and it lets the encoder take the label's
share out of z) and the decoder through the conditional DCGAN generator's class-conditional
batch norms. A VAE-GAN's critic is then the projection discriminator.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..config import Config
from ..distributed import rows
from ..errors import ConfigError
from ..registry import LOSSES, MODELS
from .base import CriticSpec, GenerativeModel, grid_layout
from .conditioning import ClassEmbedding, ConditionalBatchNorm2d
from .dcgan import DCGANDiscriminator, DCGANGenerator, _widths
from .layers import init_dcgan_


class ConvEncoder(nn.Module):
    """Strided convs with the DCGAN discriminator's widths, then a 4x4 conv to 2 * nz (plus a
    per-label shift of that output when conditional).

    [N, C, S, S] (, labels [N] or weights [N, K]) -> mu [N, nz], logvar [N, nz]
    """

    def __init__(self, nz: int, ndf: int, channels: int, size: int, num_classes: int = 0):
        super().__init__()
        w = list(reversed(_widths(size, ndf)))  # [b, 2b, 4b, 8b] for 64 px
        layers: list[nn.Module] = [nn.Conv2d(channels, w[0], 4, 2, 1), nn.LeakyReLU(0.2, True)]
        for cin, cout in zip(w[:-1], w[1:]):
            layers += [nn.Conv2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2, True)]
        self.features = nn.Sequential(*layers)  # [N, w[-1], 4, 4]
        self.head = nn.Conv2d(w[-1], 2 * nz, 4, 1, 0)  # [N, 2 nz, 1, 1]
        # The head is linear in its input, so a label concatenated to it adds one learned row per label.
        self.label_shift = ClassEmbedding(num_classes, 2 * nz, init=0.0) if num_classes else None

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.head(self.features(x)).flatten(1)  # [N, 2 nz]
        if self.label_shift is not None:
            if y is None:
                raise ValueError("this encoder is class-conditional: pass labels y ([N] indices or [N, K] weights)")
            h = h + self.label_shift(y).to(h.dtype)
        mu, logvar = h.chunk(2, dim=1)
        return mu, logvar.clamp(-30.0, 20.0)


@MODELS.register("vae")
class ConvVAE(GenerativeModel):
    """Encoder q(z|x) + DCGAN decoder p(x|z); `G` is the decoder (tanh output in [-1, 1]).

    The decoder's pre-tanh activation a gives Bernoulli logits 2a for pixels on [0, 1], since
    (tanh(a) + 1) / 2 = sigmoid(2a): the ELBO and the images agree exactly.
    """

    default_loss = "elbo"
    supports_conditional = True

    @classmethod
    def check(cls, cfg: Config) -> None:
        # Any adversarial loss makes a VAE-GAN: their shared generator phase adds auxiliary_loss.
        loss = cfg.loss.loss
        if loss != "elbo" and not LOSSES.get(loss).needs_critic:
            raise ConfigError(
                f"--loss: the vae family trains with 'elbo', or an adversarial loss "
                f"such as 'bce' for a VAE-GAN; got '{loss}'"
            )

    @classmethod
    def from_config(cls, cfg: Config, critic: CriticSpec | None) -> ConvVAE:
        m, d, lo = cfg.model, cfg.data, cfg.loss
        return cls(
            m.nz,
            m.ngf,
            m.ndf,
            d.channels,
            d.size,
            critic,
            beta=lo.beta,
            kl_warmup=lo.kl_warmup,
            num_classes=m.num_classes,
        )

    def __init__(
        self,
        nz: int,
        ngf: int,
        ndf: int,
        channels: int,
        size: int,
        critic: CriticSpec | None = None,
        beta: float = 1.0,
        kl_warmup: int = 0,
        num_classes: int = 0,
    ):
        super().__init__(nz, (channels, size, size))
        self.num_classes = num_classes
        self.encoder = ConvEncoder(nz, ndf, channels, size, num_classes)
        self.G = DCGANGenerator(nz, ngf, channels, size, num_classes=num_classes)
        if critic is not None:  # VAE-GAN: the loss needs a critic (a projection critic when conditional)
            self.D = DCGANDiscriminator(ndf, channels, size, critic, num_classes)
            self.pack = critic.pack
        self.beta = beta
        self.kl_warmup = kl_warmup
        # Images the ELBO has seen, for the KL warm-up; a buffer so checkpoints restore it.
        self.register_buffer("elbo_images", torch.zeros((), dtype=torch.int64))
        init_dcgan_(self)

    # --- the VAE's own operations --------------------------------------------------------------
    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z|x, y): [N, C, H, W] in [-1, 1] (, labels when conditional) -> mu, logvar [N, nz]."""
        return self.encoder(x, y)

    def reparameterize(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """z = mu + sigma * eps, eps from the global RNG (restored on resume). [N, nz]"""
        eps = rows(lambda m: torch.randn(m, *mu.shape[1:], device=mu.device, dtype=mu.dtype), mu.shape[0])
        return mu + torch.exp(0.5 * logvar) * eps

    def decode_logits(self, z: torch.Tensor, G: nn.Module | None = None, y: torch.Tensor | None = None) -> torch.Tensor:
        """Bernoulli logits of pixels on [0, 1]: [N, nz] (, labels when conditional) -> [N, C, H, W]."""
        net = (self.G if G is None else G).net
        if self.num_classes and y is None:
            raise ValueError("this decoder is class-conditional: pass labels y ([N] indices or [N, K] weights)")
        a = z[:, :, None, None]
        for layer in net[:-1]:  # drop the Tanh; tanh(a) = 2 sigmoid(2a) - 1
            a = layer(a, y) if isinstance(layer, ConditionalBatchNorm2d) else layer(a)
        return 2.0 * a

    def reconstruct(self, x: torch.Tensor, G: nn.Module | None = None, y: torch.Tensor | None = None) -> torch.Tensor:
        """Decode the posterior mean: [N, C, H, W] (, labels when conditional) -> [N, C, H, W] in [-1, 1]."""
        mu, _ = self.encode(x, y)
        G = self.G if G is None else G
        return G(mu) if y is None else G(mu, y)

    def kl_weight(self) -> float | torch.Tensor:
        """beta, ramped linearly from 0 over the first `kl_warmup` images.

        During the warm-up a 0-d tensor on the model's device: reading the image counter on the
        host would make every step wait for the GPU.
        """
        if self.kl_warmup <= 0:
            return self.beta
        return (self.beta * (self.elbo_images.double() / self.kl_warmup).clamp(max=1.0)).float()

    # --- hooks used by the losses and the trainer ----------------------------------------------
    def auxiliary_loss(self, real: torch.Tensor, y: torch.Tensor | None = None, kept: object = None):
        """VAE-GAN: the ELBO (per pixel, so the adversarial term keeps a say) joins G's loss."""
        if self.D is None:
            return None
        from ..losses.reconstruction import elbo  # late: losses import models

        loss, logs = elbo(self, real, y)
        pixels = math.prod(self.image_shape)
        return loss / pixels, {f"vae_{k}" if k != "loss_G" else "loss_elbo": v for k, v in logs.items()}

    def param_groups(self) -> dict[str, list[nn.Parameter]]:
        groups = {"G": list(self.encoder.parameters()) + list(self.G.parameters())}
        if self.D is not None:
            groups["D"] = list(self.D.parameters())
        return groups

    @torch.no_grad()
    def preview(
        self, G: nn.Module, fixed_z: torch.Tensor, fixed_real: torch.Tensor, fixed_y: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Prior samples G(fixed_z) in the top rows, then input | reconstruction pairs.

        [M, C, H, W] in [-1, 1]; `preview_nrow` is set so each pair sits side by side.
        Conditional: one row of prior samples per label of `fixed_y` (the GAN grid), no pairs, since
        the fixed real batch carries no labels to reconstruct it with.
        """
        if fixed_y is not None:
            self.preview_nrow = grid_layout(fixed_y)[1]
            return super().preview(G, fixed_z, fixed_real, fixed_y)
        n = fixed_z.shape[0]
        nrow = max(2, 2 * math.ceil(math.sqrt(n) / 2))  # even, so pairs never wrap
        n_prior = (n // 2) // nrow * nrow
        n_pairs = max(1, min(fixed_real.shape[0], n // 2))
        was = self.encoder.training
        self.encoder.eval()  # a grid must not touch BN running stats
        try:
            real = fixed_real[:n_pairs]
            recon = self.reconstruct(real, G)
        finally:
            self.encoder.train(was)
        pairs = torch.stack([real, recon], dim=1).flatten(0, 1)  # [2 n_pairs, C, H, W]: in, out, in, out
        self.preview_nrow = nrow
        return torch.cat([G(fixed_z[:n_prior]), pairs]) if n_prior else pairs
