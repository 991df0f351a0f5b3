"""The one training loop. Periodic work (samples, checkpoints, logs, eval) lives in callbacks."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from pathlib import Path

import torch

from ..config import Config
from ..data.loader import BatchLoader
from ..errors import StorageError
from ..io.metrics import METRICS_FILE, append_record
from ..losses.base import Loss
from ..runtime import Runtime
from .callbacks.base import Callback
from .callbacks.nonfinite_guard import learning_rate_factor
from .checkpointing import save_state
from .schedules import lr_scale, set_learning_rates
from .state import TrainState, ema_beta
from .step import train_step

REPEAT_SECONDS = 1.0  # a second Ctrl-C sooner than this is the same one, passed on by torchrun


class Trainer:
    """Runs training steps until the budget is spent or a stop is requested.

    Args:
        cfg: the resolved config.
        run_dir: the run directory (config.json already written).
        state: model, optimizers, EMA, counters (fresh or restored).
        loss: the loss object whose phases each step runs.
        loader: deterministic batch iterator over the prepared dataset.
        callbacks: periodic work, called in order.
        runtime: device, precision and autocast (a bare device means fp32 there).
        stop: a stop request from any thread; the loop finishes its step, checkpoints and returns.
        control: many processes only (`distributed.Control`): every step the ranks agree on
            stopping (any rank's request, rank 0's time budget) and take rank 0's clock.
    """

    def __init__(
        self,
        cfg: Config,
        run_dir: Path,
        state: TrainState,
        loss: Loss,
        loader: BatchLoader,
        callbacks: list[Callback],
        runtime: Runtime | torch.device,
        stop: threading.Event | None = None,
        control=None,
    ):
        self.cfg, self.run_dir, self.state, self.loss = cfg, Path(run_dir), state, loss
        self.runtime = runtime if isinstance(runtime, Runtime) else Runtime(torch.device(runtime))
        self.device = self.runtime.device
        self.loader, self.callbacks = loader, callbacks
        self.dataset_size = len(loader)
        self.images_before_step = state.images_seen
        self.elapsed_before_step = state.elapsed
        self.stop_reason: str | None = None
        self.stop_event = stop if stop is not None else threading.Event()  # signal handlers only set it
        self._session_start = 0.0
        self._elapsed_at_start = state.elapsed
        self._paused = 0.0  # seconds of one-off setup (e.g. real-image features) not charged to the budget
        self.control = control
        self._shared_progress: float | None = None  # rank 0's budget progress, agreed each step

    # --- budget ----------------------------------------------------------------------------------
    def budget_left(self) -> str | None:
        """The reason to stop now, or None to keep going."""
        t, s = self.cfg.train, self.state
        if t.steps is not None and s.step >= t.steps:
            return "steps"
        if t.epochs is not None and s.images_seen >= t.epochs * self.dataset_size:
            return "epochs"
        # A fresh run always takes one step: on a busy machine, set-up alone can use up a tiny
        # time budget, and a "trained" run with an untouched model helps nobody.
        if t.max_minutes is not None and s.step > 0 and s.elapsed + self.reserved_seconds() >= t.max_minutes * 60:
            return "time"
        return None

    def reserved_seconds(self) -> float:
        """Seconds of a time budget that callbacks need after training (e.g. the final evaluation)."""
        return sum(getattr(cb, "reserve_seconds", lambda trainer: 0.0)(self) for cb in self.callbacks)

    def progress(self, include_reserve: bool = True) -> float | None:
        """Fraction of the budget spent (the largest over the budgets given).

        With a time budget, time kept back for the final evaluation counts as spent, so the
        learning-rate tail and the ETA end where training ends.
        """
        t, s = self.cfg.train, self.state
        parts = []
        if t.steps is not None:
            parts.append(s.step / t.steps)
        if t.epochs is not None:
            parts.append(s.images_seen / (t.epochs * self.dataset_size))
        if t.max_minutes is not None:
            reserve = self.reserved_seconds() if include_reserve else 0.0
            parts.append((s.elapsed + reserve) / (t.max_minutes * 60))
        return min(1.0, max(parts)) if parts else None

    @contextlib.contextmanager
    def clock_paused(self):
        """Time spent inside does not count against the budget (one-off setup work)."""
        t0 = time.monotonic()
        try:
            yield
        finally:
            self._paused += time.monotonic() - t0
            self._update_elapsed()

    def _update_elapsed(self) -> None:
        self.state.elapsed = self._elapsed_at_start + time.monotonic() - self._session_start - self._paused

    def request_stop(self, reason: str) -> None:
        self.stop_reason = reason

    # --- services for callbacks ------------------------------------------------------------------
    def log(self, record: dict) -> None:
        """Append one JSON line to metrics.jsonl, stamped with the counters."""
        s = self.state
        full = {"step": s.step, "images_seen": s.images_seen, "elapsed": round(s.elapsed, 3), **record}
        append_record(self.run_dir / METRICS_FILE, full)

    def rollback(self, at_most: int | None = None) -> int | None:
        """Restore the newest readable checkpoint of step `at_most` or earlier (every one holds
        finite weights), else the oldest one kept, loader position and RNG included; returns its
        step, or None when there is none.

        The budget's clock keeps running: time spent before the rollback stays spent.
        """
        from ..errors import CheckpointError
        from ..io.checkpoint import list_checkpoints
        from .checkpointing import restore_state

        found = list_checkpoints(self.run_dir / "checkpoints")
        before = [c for c in found if at_most is None or c[0] <= at_most]
        after = [c for c in found if c not in before]
        for step, path in list(reversed(before)) + after:
            try:
                meta = restore_state(path, self.state)
            except CheckpointError as e:
                print(f"warning: skipping unreadable checkpoint: {e}", file=sys.stderr)
                continue
            self.loader.load_state_dict(meta["loader"])
            self.state.skipped = None
            self.images_before_step = self.state.images_seen
            return step
        return None

    def save_checkpoint(self, path: Path) -> None:
        """Write the complete state atomically to `path`."""
        save_state(path, self.state, self.cfg, self.loader.state_dict())

    # --- the loop --------------------------------------------------------------------------------
    def fit(self) -> str:
        """Train; returns why training ended ("steps", "epochs", "time", "interrupted", ...)."""
        phases = self.loss.phases()
        beta = (lambda seen: ema_beta(self.cfg, seen)) if self.state.ema is not None else None
        autocast = self.runtime.autocast
        next_batch = lambda: _on_device(next(self.loader), self.device)  # noqa: E731
        self.state.model.train()
        o, lr_tail = self.cfg.optim, self.cfg.train.lr_tail

        old_handlers = self._install_signal_handlers()
        try:
            self._session_start = time.monotonic()
            self.elapsed_before_step = self.state.elapsed
            for cb in self.callbacks:
                cb.on_train_start(self)
            while self.stop_reason is None:
                # 1. stop on request (Ctrl-C, SIGTERM, another thread) or when the budget is spent
                self.stop_reason = self._stop_now()
                if self.stop_reason:
                    break
                # 2. one optimisation step (all phases of the loss)
                factor = learning_rate_factor(self.state)  # < 1 after a non-finite rollback
                if lr_tail or factor != 1.0:
                    progress = self.progress() if self._shared_progress is None else self._shared_progress
                    scale = lr_scale(progress, lr_tail) * factor
                    set_learning_rates(self.state.optimizers, o.lr_g, o.lr_d, scale)
                self.images_before_step = self.state.images_seen
                logs, _ = train_step(self.state, phases, next_batch, autocast, beta)
                self._update_elapsed()
                # 3. periodic work: progress, samples, checkpoints, metrics
                for cb in self.callbacks:
                    cb.on_step_end(self, logs)
                # the next step's time interval starts where this one's ended (callbacks included)
                self.elapsed_before_step = self.state.elapsed
            for cb in self.callbacks:
                cb.on_train_end(self)
        except OSError as e:  # a full disk or an I/O error: atomic writes left the last checkpoint intact
            raise self._storage_error(e) from None
        finally:
            self._restore_signal_handlers(old_handlers)
        return self.stop_reason

    def _stop_now(self) -> str | None:
        """Why to stop before the next step, or None. Under many processes every rank gets the same
        answer: a stop request on any rank or rank 0's time budget (step and epoch budgets are the
        same everywhere), and rank 0's clock and budget progress."""
        self._update_elapsed()
        interrupted = self.stop_event.is_set()
        reason = self.budget_left()
        if self.control is not None:
            progress = self.progress() if self.cfg.train.lr_tail else -1.0
            interrupted, time_up, self.state.elapsed, progress = self.control.agree(
                interrupted, reason == "time", self.state.elapsed, progress
            )
            self._shared_progress = progress if progress >= 0 else None
            reason = "time" if time_up else (None if reason == "time" else reason)
        return "interrupted" if interrupted else reason

    def _storage_error(self, e: OSError) -> StorageError:
        """One message for a failed write: where, why, the space a checkpoint needs, how to resume."""
        from ..io.checkpoint import list_checkpoints

        where = Path(e.filename).parent if e.filename else self.run_dir
        saved = list_checkpoints(self.run_dir / "checkpoints")
        if saved:
            step, last = saved[-1]
            need = last.stat().st_size
            keep = (
                f"The newest checkpoint (step {step}, {last}) is intact. Free at least "
                f"{need / 2**20:.1f} MiB there (one checkpoint) and resume with: "
                f"artistry train --resume {self.run_dir}"
            )
        else:
            keep = "No checkpoint was written yet: free some space and start the run again."
        return StorageError(
            f"training stopped at step {self.state.step}: cannot write to {where}: {e.strerror or e}. {keep}"
        )

    # --- Ctrl-C / SIGTERM: finish the step, checkpoint, exit cleanly --------------------------
    def _install_signal_handlers(self):
        first = []  # when the first stop signal came

        def handler(signum, frame):
            # A second Ctrl-C stops right now. But under torchrun one Ctrl-C arrives twice (from the
            # terminal, then passed on by torchrun), and torchrun passes SIGTERM on too: a repeat
            # within REPEAT_SECONDS, or a SIGTERM while stopping, lets the checkpoint finish.
            if self.stop_event.is_set():
                if signum == signal.SIGINT and (not first or time.monotonic() - first[0] > REPEAT_SECONDS):
                    raise KeyboardInterrupt
                return
            first.append(time.monotonic())
            self.stop_event.set()
            print(
                "\nstopping after this step and saving a checkpoint (Ctrl-C again to abort)",
                file=sys.stderr,
                flush=True,
            )

        old = {}
        try:
            for sig in (signal.SIGINT, signal.SIGTERM):
                old[sig] = signal.signal(sig, handler)
        except ValueError:  # not in the main thread (e.g. the studio): no handlers
            pass
        return old

    @staticmethod
    def _restore_signal_handlers(old) -> None:
        for sig, h in old.items():
            signal.signal(sig, h)


def _on_device(batch: tuple[torch.Tensor, torch.Tensor | None], device: torch.device):
    """The loader's (images, labels) on `device` (already there unless a test's loader is elsewhere)."""
    images, labels = batch
    return images.to(device, non_blocking=True), None if labels is None else labels.to(device, non_blocking=True)
