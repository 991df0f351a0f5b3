"""Averages the step logs and appends them to metrics.jsonl with the throughput."""

from __future__ import annotations

import time

import torch

from .base import Callback

MIN_SECONDS = 1.0  # between records: a GPU at 150 steps/s would otherwise write 15 lines a second


class MetricsLog(Callback):
    """One metrics.jsonl record per `every_steps` steps, and at most one per `min_seconds`.

    The logs stay on the training device between records and become numbers in one transfer
    per record, so a fast GPU run neither waits on the host every step nor writes a line per
    6 ms.
    """

    def __init__(self, every_steps: int = 10, min_seconds: float | None = None):
        self.every = every_steps
        self.min_seconds = MIN_SECONDS if min_seconds is None else min_seconds
        self._sums: dict[str, torch.Tensor | float] = {}
        self._count = 0
        self._t0 = time.monotonic()
        self._images0 = 0

    def on_train_start(self, trainer) -> None:
        self._t0, self._images0 = time.monotonic(), trainer.state.images_seen

    def on_step_end(self, trainer, logs) -> None:
        for k, v in logs.items():
            self._sums[k] = self._sums[k] + v if k in self._sums else v
        self._count += 1
        if self._count >= self.every and time.monotonic() - self._t0 >= self.min_seconds:
            self.flush(trainer)

    def on_train_end(self, trainer) -> None:
        if self._count:
            self.flush(trainer)

    def flush(self, trainer) -> None:
        now = time.monotonic()
        rate = (trainer.state.images_seen - self._images0) / max(now - self._t0, 1e-9)
        record = dict(zip(self._sums, to_floats(list(self._sums.values()))))
        record = {k: v / self._count for k, v in record.items()}
        record["img_per_s"] = rate
        trainer.log(record)
        self._sums.clear()
        self._count = 0
        self._t0, self._images0 = now, trainer.state.images_seen


def to_floats(values: list) -> list[float]:
    """Python floats from a mix of numbers and 0-d tensors, with one transfer per device."""
    out = [v if torch.is_tensor(v) else float(v) for v in values]
    by_device: dict[torch.device, list[int]] = {}
    for i, v in enumerate(out):
        if torch.is_tensor(v):
            by_device.setdefault(v.device, []).append(i)
    for idx in by_device.values():
        numbers = torch.stack([out[i].detach().float().reshape(()) for i in idx]).tolist()
        for i, x in zip(idx, numbers):
            out[i] = x
    return out
