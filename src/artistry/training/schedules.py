"""Budget-aware schedules: values that depend on how much of the run's budget is spent."""

from __future__ import annotations


def lr_scale(progress: float | None, tail: float) -> float:
    """Learning-rate multiplier: 1 until the last `tail` share of the budget, then linear to 0.

    Follows the budget (steps, epochs or minutes), so a 10-minute and a 10-hour run both anneal
    over their own final stretch.
    """
    if tail <= 0 or progress is None:
        return 1.0
    return min(1.0, max(0.0, (1.0 - progress) / tail))


def set_learning_rates(optimizers: dict, lr_g: float, lr_d: float, scale: float) -> None:
    """Set every group's lr to its configured value times `scale` (G uses lr_g, the rest lr_d)."""
    for name, opt in optimizers.items():
        base = lr_g if name == "G" else lr_d
        for group in opt.param_groups:
            group["lr"] = base * scale


def next_augment_probability(p: float, rt: float, target: float, images: int, kimg: float) -> float:
    """One ADA update (Karras et al. 2020): raise p while D is overconfident on reals, else lower it.

    Args:
        p: current probability of augmenting an image.
        rt: E[sign(D(real))] on the last batch, D's overfitting heuristic (1 = sure of every real).
        target: the rt to hold (ADA uses 0.6).
        images: images drawn since the last update.
        kimg: thousands of images for p to move across [0, 1].
    """
    step = images / (kimg * 1000.0)
    if rt > target:
        p += step
    elif rt < target:
        p -= step
    return min(1.0, max(0.0, p))
