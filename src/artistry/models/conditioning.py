"""Class conditioning blocks: a label embedding, conditional batch norm for G, the projection term for D.

Labels `y` are either int64 class indices [N] or float class weights [N, K] whose rows sum to 1
(a blend of labels). An embedding of weights is the weighted sum of the labels' rows, so a blend
of two labels sits between them in every place the embedding is used.
"""

from __future__ import annotations

import torch
from torch import nn


class ClassEmbedding(nn.Module):
    """A learned [num_classes, dim] table; indices [N] or weights [N, K] -> [N, dim]."""

    def __init__(self, num_classes: int, dim: int, init: float | None = None, std: float = 0.02):
        super().__init__()
        self.num_classes = num_classes
        self.weight = nn.Parameter(torch.empty(num_classes, dim))
        if init is None:
            nn.init.normal_(self.weight, 0.0, std)
        else:
            nn.init.constant_(self.weight, init)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        if y.is_floating_point():  # [N, K] class weights: the blend of the rows
            return y.to(self.weight.dtype) @ self.weight  # [N, dim]
        return self.weight[y]  # [N, dim]


class ConditionalBatchNorm2d(nn.Module):
    """Batch norm without its own affine; each class has its own scale and shift (de Vries et al.
    2017, Miyato & Koyama 2018). Scales start at 1 and shifts at 0, so at initialisation it is
    plain batch norm and G starts as the unconditional network does."""

    def __init__(self, channels: int, num_classes: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, affine=False)
        self.gamma = ClassEmbedding(num_classes, channels, init=1.0)
        self.beta = ClassEmbedding(num_classes, channels, init=0.0)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:  # [N, C, H, W] -> same
        h = self.bn(x)
        gamma = self.gamma(y).to(h.dtype)[:, :, None, None]  # [N, C, 1, 1]
        beta = self.beta(y).to(h.dtype)[:, :, None, None]
        return h * gamma + beta


def projection_term(h: torch.Tensor, y: torch.Tensor, embedding: ClassEmbedding) -> torch.Tensor:
    """Miyato & Koyama 2018: the class part of a projection discriminator's logit, <embed(y), phi(x)>.

    Args:
        h: D's features, [N, C, H, W] (sum-pooled over space, as in the paper) or pooled [N, C].
        y: class indices [N] or class weights [N, K].
        embedding: D's class embedding with dim C.
    Returns:
        [N], added to the unconditional logit.
    """
    if h.dim() == 4:
        h = h.sum(dim=(2, 3))  # [N, C]
    e = embedding(y).to(h.dtype)  # [N, C]
    return (e * h).sum(dim=1)
