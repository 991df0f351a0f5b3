"""A one-line progress display: step, images seen, img/s, ETA and the latest losses."""

from __future__ import annotations

import sys
import time

from .base import Callback
from .metrics_log import to_floats


def format_duration(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class ProgressBar(Callback):
    """Redraws in place on a terminal; prints a plain line every `log_seconds` otherwise."""

    def __init__(self, stream=None, refresh: float = 0.5, log_seconds: float = 30.0):
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.refresh = refresh if self.tty else log_seconds
        self._last_draw = 0.0
        self._rate = None

    def on_train_start(self, trainer) -> None:
        self._t0, self._images0 = time.monotonic(), trainer.state.images_seen
        self._p0 = trainer.progress() or 0.0
        self._last_draw = time.monotonic()

    def on_step_end(self, trainer, logs) -> None:
        now = time.monotonic()
        if now - self._last_draw >= self.refresh:
            self._draw(trainer, logs, now)
            self._last_draw = now

    def on_train_end(self, trainer) -> None:
        self._draw(trainer, {}, time.monotonic())
        if self.tty:
            self.stream.write("\n")
        self.stream.flush()

    def _draw(self, trainer, logs, now) -> None:
        s = trainer.state
        spent = now - self._t0
        rate = (s.images_seen - self._images0) / spent if spent > 0 else 0.0
        p = trainer.progress()
        parts = [f"step {s.step}", f"{s.images_seen / 1000:.1f}k img", f"{rate:.0f} img/s"]
        if p is not None:
            parts.insert(0, f"{100 * p:3.0f}%")
            if p > self._p0 and spent > 0:
                parts.append(f"ETA {format_duration(spent * (1 - p) / (p - self._p0))}")
        keys = sorted(logs, key=lambda k: (not k.startswith("loss"), k))[:4]  # losses first
        for k, v in zip(keys, to_floats([logs[k] for k in keys])):  # one device transfer per redraw
            parts.append(f"{k} {v:.3f}")
        line = " | ".join(parts)
        if self.tty:
            self.stream.write("\r" + line[:150].ljust(100))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
