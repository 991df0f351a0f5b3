"""Checkpoint at the budget's interval and when training ends (budget, Ctrl-C or SIGTERM)."""

from __future__ import annotations

from ...io import checkpoint as ckpt
from .base import Callback, Every, as_every


class Checkpointer(Callback):
    def __init__(self, every: int | Every | None, keep: int):
        self.every, self.keep = as_every(every), keep
        self._last_saved_step = -1

    def on_train_start(self, trainer) -> None:
        self._last_saved_step = trainer.state.step if trainer.state.step > 0 else -1

    def on_step_end(self, trainer, logs) -> None:
        if self.every.due(trainer):
            self.save(trainer)

    def on_train_end(self, trainer) -> None:
        # Always: even when this step was just saved, callbacks that ran at the end (the final
        # evaluation) may have changed the state (best record, elapsed time) since.
        self.save(trainer)

    def save(self, trainer) -> None:
        folder = trainer.run_dir / "checkpoints"
        trainer.save_checkpoint(folder / ckpt.checkpoint_name(trainer.state.step))
        ckpt.prune(folder, self.keep)
        self._last_saved_step = trainer.state.step
