"""Collapse alarm: at every sample grid, compare the diversity of the fixed-noise samples to
the fixed real batch and warn when it falls far below.

Three cheap statistics, logged to metrics.jsonl at the sample-grid moments:
  * `diversity_d`  - mean pairwise distance of the samples in the discriminator's feature
    space (the input of its last layer) divided by the same for the real batch, both
    measured with the current D;
  * `diversity_px` - the same ratio in pixel space (the real value is fixed for the run);
  * `near_dup`     - the fraction of sample pairs closer in pixels than a tenth of the real
    batch's mean pairwise distance (real art has essentially none).
A collapsed generator drives the ratios towards 0 and `near_dup` towards 1; a healthy one
keeps the ratios near 1. Runs in eval mode, draws no random numbers and changes no state that
training reads, so a run is bit-identical with or without it.
"""

from __future__ import annotations

import sys

import torch

from .base import Callback, Every, as_every
from .samples import looking_at

KEY = "collapse_alarm"
WARMUP_STEPS = 300  # a DCGAN's samples are still one grey blur for the first ~100-300 steps


def mean_pairwise_distance(x: torch.Tensor) -> float:
    """Mean L2 distance over distinct pairs of rows of x [M, ...] (0 for M < 2)."""
    f = x.reshape(x.shape[0], -1).double()
    m = f.shape[0]
    if m < 2:
        return 0.0
    d = torch.cdist(f, f)
    return float(d.sum() / (m * (m - 1)))


def near_duplicate_fraction(x: torch.Tensor, tau: float) -> float:
    """Fraction of distinct pairs of rows of x closer than tau."""
    f = x.reshape(x.shape[0], -1).double()
    m = f.shape[0]
    if m < 2:
        return 0.0
    d = torch.cdist(f, f)
    iu = torch.triu_indices(m, m, offset=1)
    return float((d[iu[0], iu[1]] < tau).double().mean())


@torch.no_grad()
def critic_features(model, x: torch.Tensor) -> torch.Tensor | None:
    """The input of D's last layer (`D.head`) for images x, [M / pack, F]; None without one.

    D runs in eval mode (batch-norm running statistics, no spectral-norm power iteration). A
    conditional D is called with label 0 for every image: the features before its head do not
    depend on the label (only the projection term of the logit does).
    """
    D = getattr(model, "D", None)
    head = getattr(D, "head", None) if D is not None else None
    if head is None:
        return None
    pack = getattr(model, "pack", 1)
    x = x[: x.shape[0] - x.shape[0] % pack]
    if x.shape[0] < 2 * pack:
        return None
    captured = []
    hook = head.register_forward_pre_hook(lambda mod, inp: captured.append(inp[0].detach()))
    was_training = D.training
    D.eval()
    try:
        D(x) if not getattr(model, "num_classes", 0) else D(
            x, torch.zeros(x.shape[0], dtype=torch.long, device=x.device)
        )
    finally:
        hook.remove()
        D.train(was_training)
    return captured[0].float().reshape(captured[0].shape[0], -1)


def fixed_noise_samples(state) -> torch.Tensor:
    """G(fixed_z) from the sampling generator (EMA when kept), in eval mode; conditional runs draw
    the grid's labels with distinct latents (the grid itself repeats them across rows)."""
    with looking_at(state.sampling_generator()) as G:
        if state.fixed_y is None:
            return G(state.fixed_z).float()
        return G(state.fixed_z[: state.fixed_y.shape[0]], state.fixed_y).float()


class CollapseAlarm(Callback):
    """Logs sample diversity at every sample grid and warns when it collapses.

    Args:
        every: the interval between checks (the sample grids'): images, or an `Every`.
        ratio_warn: warn when a diversity ratio (samples / real) is below this.
        dup_warn: warn when more than this fraction of sample pairs are near-duplicates.
        warmup: images before which nothing is printed (default: WARMUP_STEPS steps, or two
            intervals when they are counted in images, whichever is more), since samples from a
            barely trained generator are all the same grey blur.
        stream: where warnings go (stderr).
    """

    def __init__(
        self,
        every: int | Every | None,
        ratio_warn: float = 0.25,
        dup_warn: float = 0.1,
        warmup: int | None = None,
        stream=None,
    ):
        self.every = as_every(every)
        self.ratio_warn, self.dup_warn = ratio_warn, dup_warn
        self.warmup = warmup
        self.stream = stream
        self._last_step = -1

    # --- hooks ---------------------------------------------------------------------------------
    def on_train_start(self, trainer) -> None:
        if self.warmup is None:
            from ...config import images_per_step_factor

            per_step = trainer.cfg.train.batch * images_per_step_factor(trainer.cfg)  # n_critic batches
            self.warmup = max(2 * (self.every.images or 0), WARMUP_STEPS * per_step)
        if getattr(trainer.state.model, "can_sample", True):
            self.baseline(trainer.state)

    def on_step_end(self, trainer, logs) -> None:
        if self.every.due(trainer):
            self.check(trainer)

    def on_train_end(self, trainer) -> None:
        if trainer.state.step != self._last_step and trainer.state.step > 0:
            self.check(trainer)

    # --- the statistic -------------------------------------------------------------------------
    def baseline(self, state) -> dict:
        """The real batch's pixel diversity, kept in state.extra so a resumed run reuses it."""
        if KEY not in state.extra:
            real = state.fixed_real.float()
            px = mean_pairwise_distance(real)
            tau = 0.1 * px
            state.extra[KEY] = {"real_px": px, "tau": tau, "real_near_dup": near_duplicate_fraction(real, tau)}
        return state.extra[KEY]

    def measure(self, state) -> dict[str, float]:
        """Diversity of G(fixed_z) relative to the fixed real batch (see the module doc)."""
        base = self.baseline(state)
        fake = fixed_noise_samples(state)
        out = {
            "diversity_px": mean_pairwise_distance(fake) / max(base["real_px"], 1e-12),
            "near_dup": near_duplicate_fraction(fake, base["tau"]),
        }
        f_fake = critic_features(state.model, fake)
        f_real = critic_features(state.model, state.fixed_real.float())
        if f_fake is not None and f_real is not None:
            out["diversity_d"] = mean_pairwise_distance(f_fake) / max(mean_pairwise_distance(f_real), 1e-12)
        return out

    def collapsed(self, stats: dict[str, float], real_near_dup: float = 0.0) -> bool:
        ratios = [stats[k] for k in ("diversity_d", "diversity_px") if k in stats]
        return min(ratios) < self.ratio_warn or stats["near_dup"] > max(self.dup_warn, 2 * real_near_dup)

    def check(self, trainer) -> dict[str, float] | None:
        """Measure, log to metrics.jsonl, and warn if collapsed (after the warm-up)."""
        state = trainer.state
        if not getattr(state.model, "can_sample", True):
            return None
        self._last_step = state.step
        stats = self.measure(state)
        alarm = self.collapsed(stats, state.extra[KEY]["real_near_dup"])
        trainer.log({**stats, "collapse": int(alarm)})
        if alarm and state.images_seen >= (self.warmup or 0):
            self.warn(state, stats)
        return {**stats, "collapse": int(alarm)}

    def warn(self, state, stats: dict[str, float]) -> None:
        stream = self.stream or sys.stderr
        parts = []
        if "diversity_d" in stats:
            parts.append(f"{stats['diversity_d']:.2f}x the real images' diversity in D's features")
        parts.append(f"{stats['diversity_px']:.2f}x in pixels")
        parts.append(f"{100 * stats['near_dup']:.0f}% of sample pairs are near-duplicates")
        lead = "\n" if getattr(stream, "isatty", lambda: False)() else ""
        stream.write(
            f"{lead}warning: possible mode collapse at step {state.step} "
            f"({state.images_seen / 1000:.1f}k images): the fixed-noise samples have "
            + ", ".join(parts)
            + ". Cures: --pack 2, --mbstd, --ema, or --loss wgan-gp / hinge.\n"
        )
        stream.flush()
