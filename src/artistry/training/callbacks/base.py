"""Callbacks do the periodic work of a run; the trainer only calls these three hooks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ...config import Config
    from ..trainer import Trainer


class Callback:
    def on_train_start(self, trainer: Trainer) -> None:
        pass

    def on_step_end(self, trainer: Trainer, logs: dict) -> None:
        """`logs` holds detached 0-d tensors on the training device: convert only when writing."""

    def on_train_end(self, trainer: Trainer) -> None:
        pass

    def reserve_seconds(self, trainer: Trainer) -> float:
        """Seconds this callback needs after training ends, kept out of a time budget."""
        return 0.0


def crossed(before: float, after: float, every: float | None) -> bool:
    """True when a counter passed a multiple of `every` during the last step."""
    return bool(every) and after // every > before // every


@dataclass(frozen=True)
class Every:
    """A periodic moment: every `images` images seen, or every `seconds` of training time.

    Training time is the budget's own clock (summed over resumes), so a time-budgeted run gets
    its grids and checkpoints at the same shares of the budget on a laptop CPU and on a GPU that
    is a thousand times faster; counting images there would mean ten grids a second.
    """

    images: int | None = None
    seconds: float | None = None

    def due(self, trainer: Trainer) -> bool:
        """Whether the step that just ended crossed one of the moments."""
        if self.images:
            return crossed(trainer.images_before_step, trainer.state.images_seen, self.images)
        if self.seconds:
            return crossed(trainer.elapsed_before_step, trainer.state.elapsed, self.seconds)
        return False


def as_every(every: int | Every | None) -> Every:
    """An int is a number of images (the explicit --sample-every / --checkpoint-every)."""
    return every if isinstance(every, Every) else Every(images=every or None)


def budget_every(cfg: Config, images: int | None, share: float, dataset_size: int) -> Every:
    """`images` when the config fixed it; else `share` of the budget: of its images for
    --steps/--epochs, of its time for --max-minutes.

    Args:
        cfg: the resolved config.
        images: the explicit interval in images (--sample-every etc.), or None.
        share: the budget share between moments (1/40 for grids, 1/5 for checkpoints).
        dataset_size: images in the prepared dataset (for --epochs).
    """
    from ...config import total_images

    if images:
        return Every(images=images)
    total = total_images(cfg, dataset_size)
    if total:
        return Every(images=max(cfg.train.batch, int(total * share)))
    if cfg.train.max_minutes:
        return Every(seconds=cfg.train.max_minutes * 60.0 * share)
    return Every(images=1000)
