"""A plain fp32 DCGAN loop written the way the PyTorch DCGAN tutorial writes it.

It is the yardstick for `artistry bench speed`: same architecture (64 px, nz=100, ngf=ndf=64),
same batch, no mixed precision, no memory-format tricks, D weight gradients computed in every
backward pass, and the tutorial's Sigmoid + BCELoss.
"""

from __future__ import annotations

import torch
from torch import nn


def _generator(nz: int = 100, ngf: int = 64, nc: int = 3) -> nn.Sequential:
    return nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
        nn.BatchNorm2d(ngf * 8),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ngf * 4),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ngf * 2),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ngf),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
        nn.Tanh(),
    )


def _discriminator(ndf: int = 64, nc: int = 3) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ndf * 2),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ndf * 4),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ndf * 8),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False),
        nn.Sigmoid(),
    )


class ReferenceDCGAN:
    """The tutorial's training step, one call per batch."""

    def __init__(self, nz: int = 100, device: str | torch.device = "cpu"):
        self.nz, self.device = nz, torch.device(device)
        self.netG, self.netD = _generator(nz).to(self.device), _discriminator().to(self.device)
        self.criterion = nn.BCELoss()
        self.optD = torch.optim.Adam(self.netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.optG = torch.optim.Adam(self.netG.parameters(), lr=2e-4, betas=(0.5, 0.999))

    def step(self, real: torch.Tensor) -> None:
        b = real.shape[0]
        # (1) update D: maximise log D(x) + log(1 - D(G(z)))
        self.netD.zero_grad()
        label = torch.full((b,), 1.0, device=self.device)
        err_real = self.criterion(self.netD(real).view(-1), label)
        err_real.backward()
        fake = self.netG(torch.randn(b, self.nz, 1, 1, device=self.device))
        label.fill_(0.0)
        err_fake = self.criterion(self.netD(fake.detach()).view(-1), label)
        err_fake.backward()
        self.optD.step()
        # (2) update G: maximise log D(G(z))
        self.netG.zero_grad()
        label.fill_(1.0)
        err_g = self.criterion(self.netD(fake).view(-1), label)
        err_g.backward()
        self.optG.step()
