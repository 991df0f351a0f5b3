"""Previews, the collapse alarm, evaluation and checkpoints never seed, fork or advance a global RNG.

The bug this guards: the sample-grid helper forked the CPU generator and called
`torch.manual_seed(0)`, which also reseeds every CUDA generator. On a GPU the training latents
and augmentations come from the CUDA generator, so every grid rewound them and G trained on the
same few batches (D(real) 0.99 / D(fake) 0.01 on CUDA against 0.66 / 0.33 on a CPU). Here, on a
CPU, the same mistake makes a patched seeding function raise, or changes the RNG state.
"""

from __future__ import annotations

import pytest
import torch

import artistry
from artistry import api
from artistry.training.callbacks.base import Callback

SEEDERS = [
    (torch, "manual_seed"),
    (torch, "seed"),
    (torch, "set_rng_state"),
    (torch.random, "fork_rng"),
    (torch.random, "manual_seed"),
    (torch.cuda, "manual_seed"),
    (torch.cuda, "manual_seed_all"),
    (torch.cuda, "set_rng_state"),
    (torch.cuda, "set_rng_state_all"),
]


class GuardedCallbacks:
    """Wraps every callback of a run: while one runs, seeding raises; afterwards the global RNG
    state must be what it was before."""

    def __init__(self, monkeypatch):
        self.active = False
        self.calls = []
        for module, name in SEEDERS:
            original = getattr(module, name)
            monkeypatch.setattr(module, name, self._guard(original, f"{module.__name__}.{name}"))

    def _guard(self, original, label):
        def guarded(*args, **kwargs):
            if self.active:
                raise AssertionError(f"{label} called while a callback was looking at the model")
            return original(*args, **kwargs)

        return guarded

    def wrap(self, cb: Callback) -> Callback:
        for hook in ("on_train_start", "on_step_end", "on_train_end"):
            setattr(cb, hook, self._checked(getattr(cb, hook), type(cb).__name__, hook))
        return cb

    def _checked(self, fn, owner, hook):
        def run(*args, **kwargs):
            before = torch.get_rng_state()
            self.active = True
            try:
                fn(*args, **kwargs)
            finally:
                self.active = False
            assert torch.equal(before, torch.get_rng_state()), f"{owner}.{hook} advanced the global RNG"
            self.calls.append((owner, hook))

        return run


@pytest.fixture
def guarded(monkeypatch):
    guard = GuardedCallbacks(monkeypatch)
    real_trainer = api.Trainer

    def trainer_with_guarded_callbacks(cfg, run_dir, state, loss, loader, callbacks, runtime, **kwargs):
        return real_trainer(cfg, run_dir, state, loss, loader, [guard.wrap(c) for c in callbacks], runtime, **kwargs)

    monkeypatch.setattr(api, "Trainer", trainer_with_guarded_callbacks)
    return guard


def test_every_builtin_callback_leaves_the_global_rng_alone(tiny_config, guarded, stub_inception):
    tiny_config.train.steps = 6
    tiny_config.train.sample_every = tiny_config.train.checkpoint_every = 16  # every other step
    tiny_config.train.eval_every, tiny_config.train.eval_n = 24, 10
    tiny_config.train.ema = True
    tiny_config.train.augment = "color,translation,cutout"
    tiny_config.model.mbstd = True
    artistry.train(tiny_config, progress=True)
    owners = {owner for owner, hook in guarded.calls if hook == "on_step_end"}
    assert {"SampleGrids", "CollapseAlarm", "Evaluate", "Checkpointer", "MetricsLog", "ProgressBar"} <= owners


@pytest.mark.parametrize("model", ["dcgan", "vae", "fastgan"])
def test_a_conditional_run_looks_without_the_global_rng(tiny_config, guarded, stub_inception, model):
    """Its grids, collapse alarm and evaluation (labels drawn like the data's) use their own generators."""
    tiny_config.model.model = model
    tiny_config.data.conditional, tiny_config.data.min_label_images = True, 1
    tiny_config.train.steps = 4
    tiny_config.train.sample_every = tiny_config.train.checkpoint_every = 16
    tiny_config.train.eval_every, tiny_config.train.eval_n = 16, 10
    tiny_config.train.ema = True
    run = artistry.train(tiny_config, progress=False)
    owners = {owner for owner, hook in guarded.calls if hook == "on_step_end"}
    assert {"SampleGrids", "CollapseAlarm", "Evaluate", "Checkpointer"} <= owners
    assert list((run / "eval").glob("*.json"))  # an evaluation did run


@pytest.mark.parametrize("model", ["vae", "dae"])
def test_reconstruction_previews_leave_the_global_rng_alone(tiny_config, guarded, model):
    tiny_config.model.model = model
    tiny_config.train.steps = 2
    artistry.train(tiny_config, progress=False)
    assert ("SampleGrids", "on_train_end") in guarded.calls


def test_the_guard_catches_a_callback_that_reseeds(tiny_config, guarded):
    """The test above would pass vacuously if the guard never fired."""

    class Reseeds(Callback):
        def on_step_end(self, trainer, logs):
            torch.manual_seed(0)

    with pytest.raises(AssertionError, match="manual_seed"):
        artistry.train(tiny_config, callbacks=[Reseeds()], progress=False)


def test_the_guard_catches_a_callback_that_draws_from_the_global_rng(tiny_config, guarded):
    class Draws(Callback):
        def on_step_end(self, trainer, logs):
            torch.randn(3)

    with pytest.raises(AssertionError, match="advanced the global RNG"):
        artistry.train(tiny_config, callbacks=[Draws()], progress=False)


def test_a_run_is_identical_with_and_without_sample_grids(tiny_config):
    """Grids every step against none: the same final weights, bit for bit."""
    tiny_config.train.steps, tiny_config.train.ema = 5, True
    tiny_config.train.augment = "color,translation,cutout"
    tiny_config.train.sample_every, tiny_config.train.name = 8, "grids"
    with_grids = artistry.train(tiny_config, progress=False)
    tiny_config.train.sample_every, tiny_config.train.name = 10**9, "none"
    without = artistry.train(tiny_config, progress=False)
    from artistry.io import checkpoint as ckpt

    a, _ = ckpt.load(ckpt.list_checkpoints(with_grids / "checkpoints")[-1][1])
    b, _ = ckpt.load(ckpt.list_checkpoints(without / "checkpoints")[-1][1])
    assert len(list((with_grids / "samples").glob("*.png"))) > len(list((without / "samples").glob("*.png")))
    for k in a:
        if k.startswith(("model.", "ema.")):
            assert torch.equal(a[k], b[k]), k
