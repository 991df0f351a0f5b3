"""Discriminator rejection sampling (Azadi et al., ICLR 2019), on a frozen generator.

A classifier trained to tell real from generated samples with the logistic loss converges to
D*(x) = p_data / (p_data + p_g), so its logit estimates log(p_data(x) / p_g(x)). Keeping each
generated sample with probability exp(logit(x) - M) (M the largest logit seen) turns p_g into
p_data where the estimate holds: samples between modes, which the data never has, are dropped,
and under-drawn modes are kept more often than over-drawn ones.

The classifier here is refitted after training on the frozen generator (as DRS fine-tunes its D),
so it works with any loss and with a packed discriminator, whose scores belong to pairs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

Sampler = Callable[[int], torch.Tensor]  # n -> [n, ...] samples


def stream_sampler(next_batch: Callable[[], torch.Tensor]) -> Sampler:
    """A Sampler over a stream of fixed-size batches (e.g. a training data stream)."""

    def sample(n: int) -> torch.Tensor:
        parts, have = [], 0
        while have < n:
            parts.append(next_batch())
            have += parts[-1].shape[0]
        return torch.cat(parts)[:n]

    return sample


@torch.no_grad()
def _draw(sample: Sampler, n: int) -> torch.Tensor:
    return sample(n).detach()


def fit_ratio_classifier(
    real: Sampler,
    fake: Sampler,
    net: nn.Module,
    *,
    steps: int = 2000,
    batch: int = 512,
    lr: float = 1e-3,
    log: Callable[[int, float], None] | None = None,
) -> nn.Module:
    """Train `net` (x -> one logit per sample) to separate real (label 1) from fake samples.

    Adam with a cosine-decayed rate: the decay lets the logit settle on the ratio instead of
    chasing minibatch noise. Returns `net` in eval mode.
    """
    opt = torch.optim.Adam(net.parameters(), lr=lr, betas=(0.5, 0.999))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, steps))
    net.train()
    for i in range(steps):
        xr, xf = _draw(real, batch), _draw(fake, batch)
        # softplus(-l) = -log sigmoid(l): the logistic loss with labels 1 (real) and 0 (fake)
        loss = nn.functional.softplus(-net(xr)).mean() + nn.functional.softplus(net(xf)).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if log is not None:
            log(i, float(loss.detach()))
    return net.eval()


@dataclass
class RejectionResult:
    samples: torch.Tensor  # [n, ...] accepted samples
    drawn: int  # candidates scored (burn-in included)
    accepted: int  # of those, how many passed (>= n when it finished)

    @property
    def acceptance(self) -> float:
        return self.accepted / max(1, self.drawn)


@torch.no_grad()
def rejection_sample(
    fake: Sampler,
    logit: Callable[[torch.Tensor], torch.Tensor],
    n: int,
    *,
    quantile: float = 0.999,
    burn_in: int = 100_000,
    chunk: int = 20_000,
    max_draws: int = 20_000_000,
    generator: torch.Generator | None = None,
) -> RejectionResult:
    """Keep generated samples with probability min(1, exp(logit - M)) until `n` are kept.

    M is the `quantile` of the logits of `burn_in` candidates (which then serve as the first
    candidates). DRS takes the maximum; a high quantile keeps the acceptance rate from hanging
    on one extreme logit, at the price of treating the top (1 - quantile) share alike. Stops
    with fewer than `n` after `max_draws` candidates rather than looping for ever.
    """
    first = _draw(fake, burn_in)
    first_logits = logit(first).float()
    m = float(torch.quantile(first_logits, quantile)) if quantile < 1 else float(first_logits.max())
    kept: list[torch.Tensor] = []
    count, drawn = 0, 0
    pending = [(first, first_logits)]
    while count < n and drawn < max_draws:
        if pending:
            x, lg = pending.pop()
        else:
            x = _draw(fake, chunk)
            lg = logit(x).float()
        drawn += x.shape[0]
        keep = torch.rand(lg.shape, generator=generator) < torch.exp(lg - m)
        kept.append(x[keep])
        count += int(keep.sum())
    samples = torch.cat(kept)[:n]
    return RejectionResult(samples, drawn, count)
