"""Stop requests from any thread: the studio trains outside the main thread, where no signal
handler can be installed, so a stop flag is the only way to end a run cleanly there."""

from __future__ import annotations

import threading

import torch

import artistry
from artistry.io import checkpoint as ckpt
from artistry.training.callbacks import Callback


class SignalAfter(Callback):
    """Sets `reached` once training has taken `steps` steps."""

    def __init__(self, steps: int):
        self.steps, self.reached = steps, threading.Event()

    def on_step_end(self, trainer, logs) -> None:
        if trainer.state.step >= self.steps:
            self.reached.set()


def test_stop_from_another_thread_saves_a_checkpoint_that_resumes_exactly(tiny_config):
    t = tiny_config.train
    t.steps, t.checkpoint_every, t.sample_every, t.name = 100_000, 10**9, 10**9, "stopped"
    stop, watch, out = threading.Event(), SignalAfter(3), {}
    worker = threading.Thread(
        target=lambda: out.update(run=artistry.train(tiny_config, progress=False, stop=stop, callbacks=[watch]))
    )
    worker.start()
    assert watch.reached.wait(120), "training did not start"
    stop.set()  # from this (main) thread, while the worker trains
    worker.join(120)
    assert not worker.is_alive() and "run" in out  # returned normally, no exception
    found = ckpt.list_checkpoints(out["run"] / "checkpoints")
    assert len(found) == 1, found  # only the final one: checkpoint_every is out of reach
    step = found[0][0]
    assert 3 <= step < 100_000
    _, meta = ckpt.load(found[0][1])
    assert meta["images_seen"] == step * t.batch

    artistry.train(resume=out["run"], overrides={"steps": step + 2}, progress=False)
    t.steps, t.name = step + 2, "reference"
    reference = artistry.train(tiny_config, progress=False)
    a, _ = ckpt.load(ckpt.list_checkpoints(out["run"] / "checkpoints")[-1][1])
    b, _ = ckpt.load(ckpt.list_checkpoints(reference / "checkpoints")[-1][1])
    weights = [k for k in b if k.startswith(("model.", "optim."))]
    assert weights and all(torch.equal(a[k], b[k]) for k in weights)


def test_a_stop_set_before_training_still_leaves_a_checkpoint(tiny_config):
    """The flag is polled before every step, including the first."""
    stop = threading.Event()
    stop.set()
    run = artistry.train(tiny_config, progress=False, stop=stop)
    assert [s for s, _ in ckpt.list_checkpoints(run / "checkpoints")] == [0]
