"""`--ada-target T`: adapts the DiffAugment probability to how much D overfits (ADA-style)."""

from __future__ import annotations

from ..schedules import next_augment_probability
from .base import Callback

STATE_KEY = "augment_p"  # in TrainState.extra, so a resumed run continues with the same p


class AdaptiveAugment(Callback):
    """After every step, moves `augment.p` toward keeping E[sign D(real)] at `target`.

    Runs before the metrics log so each record carries the probability ("aug_p").

    Args:
        augment: the DiffAugment the model applies to everything D sees.
        target: the overfitting heuristic value to hold.
        kimg: thousands of images for p to go from 0 to 1.
    """

    def __init__(self, augment, target: float, kimg: float):
        self.augment, self.target, self.kimg = augment, target, kimg

    def on_train_start(self, trainer) -> None:
        self.augment.p = float(trainer.state.extra.get(STATE_KEY, 0.0))

    def on_step_end(self, trainer, logs) -> None:
        if "rt" not in logs:
            return
        images = trainer.state.images_seen - trainer.images_before_step
        self.augment.p = next_augment_probability(self.augment.p, logs["rt"], self.target, images, self.kimg)
        trainer.state.extra[STATE_KEY] = self.augment.p
        logs["aug_p"] = self.augment.p
