"""Non-finite guard: when NaN/inf steps keep coming, roll back to the last good checkpoint with a
lower learning rate; after a few such rollbacks, stop with a message that says what happened.

The step already refuses every update whose loss or gradients are not finite (training/step.py),
so one bad batch costs one skipped step and nothing else. But MAX_IN_A_ROW skipped steps in a
row mean the state itself is broken (a collapsed batch-norm statistic, an exploded moment, a
learning rate too high for this data); no batch will fix that, so the run goes back to its last
checkpoint (all of which hold finite weights) and continues at half the learning rate.

The counters live on the device; this callback reads them every CHECK_EVERY steps and at most
once a second (one transfer), so a GPU is not made to wait every step.
"""

from __future__ import annotations

import sys
import time

import torch

from .base import Callback

CHECK_EVERY = 10  # steps between reads of the device counters ...
CHECK_SECONDS = 1.0  # ... and at least this long between reads
MAX_IN_A_ROW = 10  # skipped steps in a row that make a rollback (one bad batch is not a reason)
MAX_ROLLBACKS = 3  # then stop: halving the learning rate three times did not help
LR_FACTOR_KEY = "lr_factor"  # in TrainState.extra: the learning-rate multiplier after rollbacks
ROLLBACKS_KEY = "rollbacks"  # in TrainState.extra: how many rollbacks this run has had
SKIPPED_KEY = "skipped_steps"  # in TrainState.extra: steps skipped over the whole run


class NonFiniteGuard(Callback):
    """Watches the skipped-step counters; rolls back or stops (see the module doc).

    Args:
        check_every: steps between reads of the device counters.
        min_seconds: and at least this long between reads.
        max_in_a_row: skipped steps in a row that trigger a rollback.
        max_rollbacks: rollbacks after which the run stops instead.
        stream: where messages go (stderr).
    """

    def __init__(
        self,
        check_every: int | None = None,
        min_seconds: float | None = None,
        max_in_a_row: int = MAX_IN_A_ROW,
        max_rollbacks: int = MAX_ROLLBACKS,
        stream=None,
    ):
        self.check_every = CHECK_EVERY if check_every is None else check_every
        self.min_seconds = CHECK_SECONDS if min_seconds is None else min_seconds
        self.max_in_a_row, self.max_rollbacks = max_in_a_row, max_rollbacks
        self.stream = stream
        self._steps = 0
        self._last_check = 0.0
        self._counted = 0  # skipped steps already added to the run's total

    def on_train_start(self, trainer) -> None:
        self._last_check = time.monotonic()

    def on_step_end(self, trainer, logs) -> None:
        self._steps += 1
        if self._steps >= self.check_every and time.monotonic() - self._last_check >= self.min_seconds:
            self._steps = 0
            self.check(trainer)

    def on_train_end(self, trainer) -> None:
        self._read(trainer)  # the run's total skipped steps reach the final checkpoint

    def _read(self, trainer) -> tuple[int, bool]:
        """(steps skipped in a row now, whether any weight or statistic is non-finite), in one
        transfer; adds the new skips to the run's total."""
        self._last_check = time.monotonic()
        state = trainer.state
        model = state.model
        broken = any_nonfinite(list(model.parameters()) + list(model.buffers()))
        counters = (
            state.skipped if state.skipped is not None else torch.zeros(2, dtype=torch.int64, device=broken.device)
        )
        in_a_row, total, bad = torch.cat([counters, broken.to(counters.device, torch.int64).view(1)]).tolist()
        state.extra[SKIPPED_KEY] = state.extra.get(SKIPPED_KEY, 0) + total - self._counted
        self._counted = total
        return in_a_row, bool(bad)

    def check(self, trainer) -> None:
        in_a_row, broken = self._read(trainer)
        if in_a_row < self.max_in_a_row and not broken:
            return
        state = trainer.state
        rollbacks = state.extra.get(ROLLBACKS_KEY, 0)
        factor = state.extra.get(LR_FACTOR_KEY, 1.0) * 0.5
        skipped = state.extra.get(SKIPPED_KEY, 0)
        what = (
            (f"{in_a_row} training steps in a row had non-finite (NaN/inf) losses or gradients at step {state.step}")
            if not broken
            else f"the network's weights or batch-norm statistics became non-finite (NaN/inf) at step {state.step}"
        )
        if rollbacks >= self.max_rollbacks:
            self._say(
                f"{what}, after {rollbacks} rollbacks with lower learning rates (now "
                f"x{state.extra.get(LR_FACTOR_KEY, 1.0):g}). Stopping; the weights are the last finite ones "
                f"and every checkpoint is finite. Try another --loss, --lr or --precision fp32 in a new run, "
                f"or resume with: artistry train --resume {trainer.run_dir}"
            )
            trainer.request_stop("non-finite")
            return
        # the newest checkpoint from before the trouble began: later ones hold the stuck state
        step = trainer.rollback(at_most=state.step - in_a_row)
        if step is None:
            self._say(
                f"{what}, and no checkpoint was written before that. Stopping; start again with a "
                f"lower --lr, another --loss or --precision fp32."
            )
            trainer.request_stop("non-finite")
            return
        # the restored state's extra is the checkpoint's: carry the guard's own record over
        state.extra.update({LR_FACTOR_KEY: factor, ROLLBACKS_KEY: rollbacks + 1, SKIPPED_KEY: skipped})
        self._counted = 0  # the restored state starts new device counters
        self._say(
            f"{what}. Rolled back to the checkpoint of step {step} and continuing at x{factor:g} "
            f"the learning rate (rollback {rollbacks + 1} of {self.max_rollbacks})."
        )

    def _say(self, text: str) -> None:
        stream = self.stream or sys.stderr
        stream.write(f"\nwarning: {text}\n")
        stream.flush()


def learning_rate_factor(state) -> float:
    """The learning-rate multiplier the guard's rollbacks left (1.0 without any)."""
    return float(state.extra.get(LR_FACTOR_KEY, 1.0))


def any_nonfinite(tensors) -> torch.Tensor:
    """0-d bool: whether any of the floating-point tensors holds a NaN or inf (one reduction)."""
    floats = [t.detach() for t in tensors if t.is_floating_point() and t.numel()]
    if not floats:
        return torch.zeros((), dtype=torch.bool)
    return ~torch.isfinite(torch.stack(torch._foreach_norm(floats)).float().sum())  # one launch for all
