"""What every model family provides to the trainer, the losses and generation."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..config import Config
from ..distributed import rows


@dataclass(frozen=True)
class CriticSpec:
    """What the loss allows inside the discriminator/critic."""

    norm: str = "batch"  # batch | layer | none
    spectral: bool = False
    mbstd: bool = False
    mbdisc: int = 0  # minibatch discrimination kernels (0 = off)
    pack: int = 1


class GenerativeModel(nn.Module):
    """A family's networks behind one interface.

    `G` maps latents [N, nz] to images [N, C, H, W] in [-1, 1]; families that cannot sample
    from noise (the denoiser) set `can_sample = False`. `D` (may be None) maps images to logits.

    Class conditioning (`num_classes` > 0): every `y` below is None, int64 class indices [N] or
    float class weights [N, K] (a blend, rows summing to 1). `G(z, y=None)` is every family's
    generator signature; unconditional families ignore `y`, and a conditional family's D takes
    `D(x, y)`. The losses pass `y` along without knowing what it is.
    """

    default_loss = "bce"
    can_sample = True
    supports_conditional = False  # can be built with model.num_classes > 0 (--conditional); validate() checks
    supports_class_loss = False  # has an auxiliary classifier in D for --class-loss; validate() checks

    def __init__(self, nz: int, image_shape: tuple[int, ...]):
        super().__init__()
        self.nz = nz
        self.image_shape = tuple(image_shape)
        self.G: nn.Module | None = None
        self.D: nn.Module | None = None
        self.pack = 1
        self.augment = None  # callable applied to every image D sees (DiffAugment), set by the trainer
        self.d_memory_format = torch.contiguous_format  # what D's convs run fastest on (see build.py)
        self.num_classes = 0  # 0 = unconditional; a conditional family sets it from model.num_classes

    # --- construction -------------------------------------------------------------------------
    @classmethod
    def check(cls, cfg: Config) -> None:
        """Reject configs this family cannot build (raise ConfigError naming the flag)."""

    @classmethod
    def from_config(cls, cfg: Config, critic: CriticSpec | None) -> GenerativeModel:
        raise NotImplementedError

    # --- used by losses -----------------------------------------------------------------------
    def sample_latents(
        self, n: int, device: torch.device | str, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        if generator is None:  # a training draw: this rank's rows of the global batch's latents
            return rows(lambda m: torch.randn(m, self.nz, device=device), n)  # [N, nz]
        return torch.randn(n, self.nz, device=device, generator=generator)  # [N, nz]

    def generate(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.G(z) if y is None else self.G(z, y)  # [N, C, H, W]

    def discriminate(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Critic logits, one per packed group of `pack` images: [N, ...] -> [N / pack]."""
        x = self._critic_input(x)
        return (self.D(x) if y is None else self.D(x, y)).reshape(-1)

    def discriminate_with_features(
        self, x: torch.Tensor, y: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(critic logits [N / pack], the critic's last hidden features [N / pack, F]), one pass."""
        x = self._critic_input(x)
        logits, h = self.D.forward_features(x) if y is None else self.D.forward_features(x, y)
        return logits.reshape(-1), h

    def _critic_input(self, x: torch.Tensor) -> torch.Tensor:
        if self.augment is not None:
            x = self.augment(x)
        if x.dim() == 4:
            x = x.contiguous(memory_format=self.d_memory_format)
        return x

    def discriminate_fake(
        self, x: torch.Tensor, y: torch.Tensor | None = None, features: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None, object]:
        """The generator phase's pass over its fakes: (logits [N / pack], D's last hidden features
        when `features` (for --fm) else None, whatever the family's `auxiliary_loss` needs from
        this same pass; None here)."""
        if features:
            logits, h = self.discriminate_with_features(x, y)
            return logits, h, None
        return self.discriminate(x, y), None, None

    def auxiliary_loss(self, real: torch.Tensor, y: torch.Tensor | None = None, kept: object = None):
        """Extra generator-side loss, (loss, logs) or None (the default): e.g. a VAE's ELBO in a
        VAE-GAN, or a family's term on what `discriminate_fake` kept of D's pass over the fakes."""
        return None

    def discriminate_real(self, x: torch.Tensor, y: torch.Tensor | None = None) -> tuple[torch.Tensor, object]:
        """The critic phase's pass over the real batch: (logits [N / pack], whatever the family's
        `critic_auxiliary_loss` needs from this same pass, e.g. D's hidden features; None here)."""
        return self.discriminate(x, y), None

    def critic_auxiliary_loss(self, real: torch.Tensor, kept: object):
        """Extra critic-side loss, (loss, logs) or None (the default), from the real batch and what
        `discriminate_real` kept of D's pass over it (e.g. FastGAN's reconstruction). Only the
        critic's optimizer steps on it: the critic phase's fakes are detached."""
        return None

    def param_groups(self) -> dict[str, list[nn.Parameter]]:
        """Parameters per optimizer; keys match the loss's optimizer names ("G", "D")."""
        groups = {"G": list(self.G.parameters())}
        if self.D is not None:
            groups["D"] = list(self.D.parameters())
        return groups

    # --- used by sample grids -----------------------------------------------------------------
    def preview(
        self, G: nn.Module, fixed_z: torch.Tensor, fixed_real: torch.Tensor, fixed_y: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Images for a sample grid, [M, C, H, W] in [-1, 1]; GANs show G(fixed_z).

        Conditional: `fixed_y` holds the grid's labels row by row (see `grid_layout`); every row
        uses the same noise, fixed_z[:columns], so a column shows what the label changes."""
        if fixed_y is None:
            return G(fixed_z)
        rows, columns = grid_layout(fixed_y)
        return G(fixed_z[:columns].repeat(rows, 1), fixed_y)


def grid_layout(fixed_y: torch.Tensor) -> tuple[int, int]:
    """(rows, columns) of a conditional grid: fixed_y is one label per row, repeated `columns` times."""
    columns = int((fixed_y == fixed_y[0]).sum())
    return fixed_y.shape[0] // columns, columns
