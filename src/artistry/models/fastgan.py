"""FastGAN (Liu et al., ICLR 2021): a few-shot GAN for 128-1024 px, written from the paper.

Generator: nearest-neighbour up-sampling blocks with GLU activations; every other block is a
"comp" block with two convs and per-pixel noise injection. Skip-layer excitation (SLE) lets
the 8, 16, 32 and 64 px features gate the channels of the 128, 256, 512 and 1024 px ones, so
coarse structure reaches the fine layers without a residual path at full resolution.

Discriminator: a stem down to at most 256 px, then residual down blocks to 8x8, with SLE the
other way (a feature map gates the one 8x smaller). It is also an encoder: two small decoders
must rebuild the real image from the 8x8 features and a random quadrant of it from the
matching quarter of the 16x16 features (`critic_auxiliary_loss`). The paper scores the
rebuilt images with LPIPS; its weights cannot be downloaded here, so the distance is an L1
between Laplacian pyramids (see `laplacian_l1`).

Class-conditional (`num_classes` > 0, `--conditional`): every batch norm of G becomes a
class-conditional batch norm (a scale and shift per label, starting at 1 and 0), and D adds the
projection term <embed(y), pooled features> (Miyato & Koyama 2018) to its logit. Why CBN and not
a class embedding joined to the latent: G is a chain of BN + GLU blocks, so CBN conditions every
resolution without a new layer -- painting styles differ mostly in colour and brush texture,
which live in the fine blocks, where a label given only at the 4x4 input arrives renormalised
by a dozen batch norms and gated by the excitations. It is the generator Miyato & Koyama pair
with the projection D (and BigGAN's, without its hierarchical latents); a blend of labels
blends the scales and shifts. Starting at plain BN means G begins as unconditional FastGAN and
takes up the label as training goes, which suits few-shot data, where conditioning from the
first step is known to collapse diversity (Shahbazi et al., "Collapse by Conditioning", 2022).
D's reconstruction decoders stay unconditional: they only have to rebuild the image D saw.

Widths follow the authors' tables (channels per resolution as a multiple of --ngf / --ndf). G's
runs from 16x at 4 px down to 1/8x at 1024 px; D's is half that at 64 px and above and the same
below (at 128 px: 0.5, 1, 2, 4 and 8 x ndf from 128 down to 8 px); `--d-widths generator` gives
D G's table, as runs saved before 2026-12-05 were built. Below 128 px (for tests
and the 64 px comparison) the same blocks are used and SLE links 8x apart (4->32, 8->64)
instead of 16x.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..config import Config
from ..distributed import rows
from ..errors import ConfigError
from ..registry import LOSSES, MODELS
from .base import CriticSpec, GenerativeModel
from .conditioning import ClassEmbedding, ConditionalBatchNorm2d, projection_term
from .layers import MinibatchStd, apply_spectral_norm_, critic_norm, init_dcgan_

# The paper's channels per resolution, as a multiple of the base width (64 in the paper).
WIDTH_MULT = {4: 16, 8: 8, 16: 4, 32: 2, 64: 2, 128: 1, 256: 0.5, 512: 0.25, 1024: 0.125}
# The discriminator's (the authors' code, shifted to the side of D's own feature maps): half the
# generator's at 64 px and above.
CRITIC_WIDTH_MULT = {4: 16, 8: 8, 16: 4, 32: 2, 64: 1, 128: 0.5, 256: 0.25, 512: 0.125}
MIN_WIDTH = 4
MAX_STEM = 256  # D strides down to this resolution before its residual blocks
RECON_MAX = 128  # side of the images D's decoders rebuild (the paper's 128)


def width(res: int, base: int) -> int:
    return max(MIN_WIDTH, int(WIDTH_MULT[res] * base))


def critic_width(res: int, base: int, table: str = "paper") -> int:
    """Channels of D's features at `res` px: the authors' table ("paper": half G's at 64 px and
    above, as wide below), or G's ("generator", what fastgan runs before 2026-12-05 were built with)."""
    return max(MIN_WIDTH, int((CRITIC_WIDTH_MULT if table == "paper" else WIDTH_MULT)[res] * base))


def generator_links(size: int) -> list[tuple[int, int]]:
    """(source, target) resolutions of the generator's skip-layer excitations."""
    if size >= 128:
        return [(r, 16 * r) for r in (8, 16, 32, 64) if 16 * r <= size]
    return [(r, 8 * r) for r in (4, 8) if 8 * r <= size]


def critic_links(stem: int) -> list[tuple[int, int]]:
    """(source, target) resolutions of the discriminator's excitations: big maps gate 8x smaller ones."""
    return [(r, r // 8) for r in (256, 128, 64) if r <= stem and r // 8 >= 8]


def recon_size(size: int) -> int:
    return min(RECON_MAX, size // 2)


class LabelledSequential(nn.Sequential):
    """nn.Sequential that hands the labels `y` to its conditional batch norms (and to nested
    LabelledSequentials); with no conditional layer inside it is a plain Sequential, with the
    same parameter names, so unconditional checkpoints load unchanged."""

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        for layer in self:
            x = layer(x, y) if isinstance(layer, (ConditionalBatchNorm2d, LabelledSequential)) else layer(x)
        return x


def g_norm(channels: int, num_classes: int) -> nn.Module:
    """G's normalisation: batch norm, or class-conditional batch norm when there are labels."""
    return ConditionalBatchNorm2d(channels, num_classes) if num_classes else nn.BatchNorm2d(channels)


class GLUBlock(LabelledSequential):
    """Optional 2x nearest up-sampling, then 3x3 conv to 2*cout, norm, GLU (gated linear unit)."""

    def __init__(self, cin: int, cout: int, norm: nn.Module, upsample: bool = True, noise: bool = False):
        layers = [nn.Upsample(scale_factor=2, mode="nearest")] if upsample else []
        layers += [nn.Conv2d(cin, 2 * cout, 3, 1, 1, bias=False)]
        layers += [NoiseInjection()] if noise else []
        layers += [norm, nn.GLU(dim=1)]
        super().__init__(*layers)


class NoiseInjection(nn.Module):
    """x + w * N(0, 1) per pixel (one map shared by the channels), w learned from 0.

    Only while training: in eval mode (sample grids, EMA, generate, interpolate) it adds
    nothing, so an image depends on its latent alone and grids never draw from the global RNG.
    """

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        n, _, h, w = x.shape
        # under many processes, this rank's rows of one draw for the global batch (house rule 23)
        noise = rows(lambda m: torch.randn(m, 1, h, w, device=x.device, dtype=x.dtype), n)
        return x + self.weight * noise


class Excitation(nn.Module):
    """Skip-layer excitation: a channel gate for `target` computed from `source`'s features.

    source [N, Cs, Hs, Ws] -> pool 4x4 -> 4x4 conv -> SiLU -> 1x1 conv -> sigmoid [N, Ct, 1, 1].
    """

    def __init__(self, c_source: int, c_target: int):
        super().__init__()
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(4),
            nn.Conv2d(c_source, c_target, 4, 1, 0, bias=False),
            nn.SiLU(),
            nn.Conv2d(c_target, c_target, 1, 1, 0, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return target * self.gate(source)


class FastGANGenerator(nn.Module):
    def __init__(self, nz: int, ngf: int, channels: int, size: int, num_classes: int = 0):
        super().__init__()
        self.size = size
        self.num_classes = num_classes
        w4, k = width(4, ngf), num_classes
        self.init = LabelledSequential(
            nn.ConvTranspose2d(nz, 2 * w4, 4, 1, 0, bias=False), g_norm(2 * w4, k), nn.GLU(dim=1)
        )  # [N, w4, 4, 4]
        self.blocks = nn.ModuleDict()
        for e in range(3, int(math.log2(size)) + 1):
            r = 2**e
            cin, cout = width(r // 2, ngf), width(r, ngf)
            block = [GLUBlock(cin, cout, g_norm(2 * cout, k), noise=e % 2 == 1)]
            if e % 2 == 1:  # "comp" block at 8, 32, 128, 512 px: a second conv
                block.append(GLUBlock(cout, cout, g_norm(2 * cout, k), upsample=False, noise=True))
            self.blocks[str(r)] = LabelledSequential(*block)
        self.links = generator_links(size)
        self.excite = nn.ModuleDict({str(t): Excitation(width(s, ngf), width(t, ngf)) for s, t in self.links})
        self.to_rgb = nn.Sequential(nn.Conv2d(width(size, ngf), channels, 3, 1, 1), nn.Tanh())

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:  # [N, nz] -> [N, C, S, S]
        """y: class indices [N] or weights [N, K]; required when conditional, ignored otherwise."""
        if not self.num_classes:
            y = None
        elif y is None:
            raise ValueError("this generator is class-conditional: pass labels y ([N] indices or [N, K] weights)")
        h = self.init(z[:, :, None, None], y)
        kept = {4: h}
        sources = {s for s, _ in self.links}
        gate_from = dict((t, s) for s, t in self.links)
        r = 4
        while r < self.size:
            r *= 2
            h = self.blocks[str(r)](h, y)
            if r in gate_from:
                h = self.excite[str(r)](kept[gate_from[r]], h)
            if r in sources:
                kept[r] = h
        return self.to_rgb(h)


class DownBlock(nn.Module):
    """Halves the resolution: (4x4 stride-2 conv, norm, LReLU, 3x3 conv, norm, LReLU) averaged with
    a shortcut (2x2 average pool, 1x1 conv, norm, LReLU)."""

    def __init__(self, cin: int, cout: int, norm: str):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(cin, cout, 4, 2, 1, bias=False),
            critic_norm(norm, cout),
            nn.LeakyReLU(0.2),
            nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
            critic_norm(norm, cout),
            nn.LeakyReLU(0.2),
        )
        self.skip = nn.Sequential(
            nn.AvgPool2d(2), nn.Conv2d(cin, cout, 1, 1, 0, bias=False), critic_norm(norm, cout), nn.LeakyReLU(0.2)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.main(x) + self.skip(x)) / 2


class Decoder(nn.Sequential):
    """8x8 features [N, cin, 8, 8] -> an image [N, C, R, R] in [-1, 1] (GLU up-sampling blocks)."""

    def __init__(self, cin: int, ndf: int, channels: int, out: int, norm: str):
        layers: list[nn.Module] = []
        r, c = 8, cin
        while r < out:
            r *= 2
            layers.append(GLUBlock(c, width(r, ndf), critic_norm(norm, 2 * width(r, ndf))))
            c = width(r, ndf)
        layers += [nn.Conv2d(c, channels, 3, 1, 1), nn.Tanh()]
        super().__init__(*layers)


class FastGANDiscriminator(nn.Module):
    def __init__(
        self, ndf: int, channels: int, size: int, spec: CriticSpec, num_classes: int = 0, widths: str = "paper"
    ):
        super().__init__()
        self.stem_size = stem = min(size, MAX_STEM)

        def cw(res: int) -> int:
            return critic_width(res, ndf, widths)

        if size <= MAX_STEM:  # a 3x3 conv at full resolution
            stem_layers: list[nn.Module] = [nn.Conv2d(channels, cw(stem), 3, 1, 1), nn.LeakyReLU(0.2)]
        else:  # 4x4 stride-2 convs down to 256 px, normalised after the first
            r = size // 2
            stem_layers = [nn.Conv2d(channels, cw(r), 4, 2, 1), nn.LeakyReLU(0.2)]
            while r > stem:
                stem_layers += [
                    nn.Conv2d(cw(r), cw(r // 2), 4, 2, 1, bias=False),
                    critic_norm(spec.norm, cw(r // 2)),
                    nn.LeakyReLU(0.2),
                ]
                r //= 2
        self.stem = nn.Sequential(*stem_layers)
        self.down = nn.ModuleDict()
        r = stem
        while r > 8:
            self.down[str(r // 2)] = DownBlock(cw(r), cw(r // 2), spec.norm)
            r //= 2
        self.links = critic_links(stem)
        self.excite = nn.ModuleDict({str(t): Excitation(cw(s), cw(t)) for s, t in self.links})
        w8, w4 = cw(8), cw(4)
        self.mbstd = MinibatchStd() if spec.mbstd else None
        self.neck = nn.Sequential(nn.Conv2d(w8, w4, 1, 1, 0, bias=False), critic_norm(spec.norm, w4), nn.LeakyReLU(0.2))
        self.head = nn.Conv2d(w4 + int(spec.mbstd), 1, 4, 1, 0)  # 8x8 -> 5x5 patch logits
        rec = recon_size(size)
        self.decode_all = Decoder(w8, ndf, channels, rec, spec.norm)
        self.decode_part = Decoder(cw(16), ndf, channels, rec, spec.norm)
        if spec.spectral:
            apply_spectral_norm_(self)
        # projection discriminator: one embedding row per class, read against the neck's pooled features
        self.embed = ClassEmbedding(num_classes, w4) if num_classes else None

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None, features: bool = False):
        """Logits [N]; with `features`, (logits, 8x8 features [N, w8, 8, 8], 16x16 features
        [N, w16, 16, 16]) from the same pass. Through forward, so `--compile` covers both.
        y: class indices [N] or weights [N, K]; required when conditional, ignored otherwise."""
        h = self.stem(x)
        kept = {self.stem_size: h}
        gate_from = dict((t, s) for s, t in self.links)
        r = self.stem_size
        while r > 8:
            r //= 2
            h = self.down[str(r)](h)
            if r in gate_from:
                h = self.excite[str(r)](kept[gate_from[r]], h)
            kept[r] = h
        h = self.neck(h)  # [N, w4, 8, 8]
        logits = self.head(self.mbstd(h) if self.mbstd is not None else h).mean(dim=(1, 2, 3))  # [N]
        if self.embed is not None:
            if y is None:
                raise ValueError("this critic is class-conditional: pass labels y")
            # Mean-pooled, not the paper's sum: the head averages its 5x5 patch logits, so the class
            # term then sits on the same scale as the rest of the logit.
            logits = logits + projection_term(h.mean(dim=(2, 3)), y, self.embed)
        return (logits, kept[8], kept[16]) if features else logits

    def forward_features(self, x: torch.Tensor, y: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits [N], the 8x8 features flattened [N, F]) for generator feature matching."""
        logits, h8, _ = self(x, y, features=True)
        return logits, h8.flatten(1)


def laplacian_l1(a: torch.Tensor, b: torch.Tensor, levels: int = 3) -> torch.Tensor:
    """Mean L1 distance between the Laplacian pyramids of two image batches (Lap1).

    Our stand-in for LPIPS, which needs pretrained weights we may not download. Lap1 (used
    as a weight-free perceptual loss by Bojanowski et al., "Optimizing the Latent Space of
    Generative Networks", 2018) compares each band of detail separately, so edges and texture
    count as much as the mean colour, where a plain pixel L2 is satisfied by a blurred average.
    """
    a, b = a.float(), b.float()
    total = a.new_zeros(())
    for _ in range(min(levels, int(math.log2(a.shape[-1])) - 1)):
        a_low, b_low = F.avg_pool2d(a, 2), F.avg_pool2d(b, 2)
        band_a = a - F.interpolate(a_low, scale_factor=2, mode="nearest")
        band_b = b - F.interpolate(b_low, scale_factor=2, mode="nearest")
        total = total + (band_a - band_b).abs().mean()
        a, b = a_low, b_low
    return total + (a - b).abs().mean()


@MODELS.register("fastgan")
class FastGAN(GenerativeModel):
    """The FastGAN family: SLE generator, self-supervised discriminator (hinge loss by default)."""

    default_loss = "hinge"
    supports_conditional = True
    recon_weight = 1.0  # the paper adds its LPIPS terms to D's loss unweighted

    @classmethod
    def check(cls, cfg: Config) -> None:
        if cfg.data.size < 32:
            raise ConfigError("--size: fastgan needs at least 32 px")
        loss = cfg.loss.loss
        if loss is not None and not LOSSES.get(loss, flag="--loss").needs_critic:
            raise ConfigError(f"--loss: fastgan trains with an adversarial loss (hinge, bce, ...), not '{loss}'")
        if cfg.loss.pack != 1:
            raise ConfigError(
                "--pack: fastgan's discriminator rebuilds each real image from its own features, "
                "so it cannot fold several images into one input; use --pack 1"
            )
        if cfg.model.mbdisc:
            raise ConfigError("--mbdisc: fastgan does not support minibatch discrimination; use --mbstd instead")

    @classmethod
    def from_config(cls, cfg: Config, critic: CriticSpec | None) -> FastGAN:
        m, d = cfg.model, cfg.data
        return cls(m.nz, m.ngf, m.ndf, d.channels, d.size, critic or CriticSpec(), m.num_classes, m.d_widths)

    def __init__(
        self,
        nz: int,
        ngf: int,
        ndf: int,
        channels: int,
        size: int,
        critic: CriticSpec,
        num_classes: int = 0,
        d_widths: str = "paper",
    ):
        super().__init__(nz, (channels, size, size))
        self.G = FastGANGenerator(nz, ngf, channels, size, num_classes)
        self.D = FastGANDiscriminator(ndf, channels, size, critic, num_classes, d_widths)
        self.num_classes = num_classes
        init_dcgan_(self)

    def discriminate_real(self, x: torch.Tensor, y: torch.Tensor | None = None):
        """Logits on the real batch, keeping the (augmented) images and D's 8x8 and 16x16 features
        for the reconstruction term, so it needs no second pass through D."""
        x = self._critic_input(x)
        logits, h8, h16 = self.D(x, y, features=True)
        return logits.reshape(-1), (x, h8, h16)

    def critic_auxiliary_loss(self, real: torch.Tensor, kept):
        """D as an encoder: rebuild the image D saw from its 8x8 features and one random quadrant
        (the same for the whole batch, from the global RNG) from that quarter of its 16x16 features."""
        x, h8, h16 = kept
        out = recon_size(x.shape[-1])
        q = int(torch.randint(4, (1,)))  # a CPU draw: no device sync
        i, j = divmod(q, 2)
        half, part = x.shape[-1] // 2, h16.shape[-1] // 2
        crop = x[:, :, i * half : (i + 1) * half, j * half : (j + 1) * half]
        rebuilt_all = self.D.decode_all(h8)
        rebuilt_part = self.D.decode_part(h16[:, :, i * part : (i + 1) * part, j * part : (j + 1) * part])
        recon = laplacian_l1(rebuilt_all, _resize(x, out)) + laplacian_l1(rebuilt_part, _resize(crop, out))
        return self.recon_weight * recon, {"recon_D": recon}


def _resize(x: torch.Tensor, size: int) -> torch.Tensor:
    """Area-average down to `size` (no-op when already there)."""
    return x if x.shape[-1] == size else F.interpolate(x, size=(size, size), mode="area")
