"""Callbacks do the periodic work of a run; the trainer only calls these three hooks."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..trainer import Trainer


class Callback:
    def on_train_start(self, trainer: "Trainer") -> None:
        pass

    def on_step_end(self, trainer: "Trainer", logs: dict[str, float]) -> None:
        pass

    def on_train_end(self, trainer: "Trainer") -> None:
        pass

    def reserve_seconds(self, trainer: "Trainer") -> float:
        """Seconds this callback needs after training ends, kept out of a time budget."""
        return 0.0


def crossed(before: int, after: int, every: int | None) -> bool:
    """True when the image counter passed a multiple of `every` during the last step."""
    return bool(every) and after // every > before // every
