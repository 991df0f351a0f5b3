"""Averages the step logs and appends them to metrics.jsonl with the throughput."""
from __future__ import annotations

import time
from collections import defaultdict

from .base import Callback


class MetricsLog(Callback):
    def __init__(self, every_steps: int = 10):
        self.every = every_steps
        self._sums: dict[str, float] = defaultdict(float)
        self._count = 0
        self._t0 = time.monotonic()
        self._images0 = 0

    def on_train_start(self, trainer) -> None:
        self._t0, self._images0 = time.monotonic(), trainer.state.images_seen

    def on_step_end(self, trainer, logs) -> None:
        for k, v in logs.items():
            self._sums[k] += v
        self._count += 1
        if self._count >= self.every:
            self.flush(trainer)

    def on_train_end(self, trainer) -> None:
        if self._count:
            self.flush(trainer)

    def flush(self, trainer) -> None:
        now = time.monotonic()
        rate = (trainer.state.images_seen - self._images0) / max(now - self._t0, 1e-9)
        record = {k: v / self._count for k, v in self._sums.items()}
        record["img_per_s"] = rate
        trainer.log(record)
        self._sums.clear()
        self._count = 0
        self._t0, self._images0 = now, trainer.state.images_seen
