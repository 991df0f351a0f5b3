"""Every adversarial loss and regulariser trains a class-conditional DCGAN: labels reach G and D."""

from __future__ import annotations

import contextlib

import pytest
import torch

from artistry.build import build_model
from artistry.registry import LOSSES
from artistry.training.state import TrainState, build_optimizers
from artistry.training.step import train_step

from .test_adversarial import changed, make_cfg

K = 3
ADVERSARIAL = [name for name in LOSSES.names() if name not in ("elbo", "denoise")]


def conditional_cfg(loss: str, **settings):
    return make_cfg(loss, conditional=True, label_names=[f"l{k}" for k in range(K)], num_classes=K, **settings)


@pytest.mark.parametrize(
    "loss,settings",
    [(name, {}) for name in ADVERSARIAL]
    + [("bce", {"r1": 1.0, "fm": 0.1, "mbstd": True}), ("hinge", {"gp": 1.0}), ("wgan-gp", {"mbdisc": 4})]
    + [("bce", {"class_loss": 0.5, "fm": 0.1, "mbstd": True}), ("hinge", {"class_loss": 1.0})],
)
def test_each_loss_trains_a_conditional_dcgan(loss, settings):
    cfg = conditional_cfg(loss, **settings)
    torch.manual_seed(0)
    model, loss_obj = build_model(cfg, torch.device("cpu"))
    state = TrainState(model, build_optimizers(cfg, model), None, torch.zeros(1, 8), torch.zeros(1, 3, 32, 32))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    g = torch.Generator().manual_seed(0)

    def next_batch():
        real = torch.rand(cfg.train.batch, 3, 32, 32, generator=g) * 2 - 1
        return real, torch.randint(0, K, (cfg.train.batch,), generator=g)

    for _ in range(2):
        logs, _ = train_step(state, loss_obj.phases(), next_batch, contextlib.nullcontext, None)
        assert all(torch.isfinite(torch.as_tensor(v)).all() for v in logs.values()), logs
    moved = changed(before, model, "")
    assert "D.embed.weight" in moved  # the projection discriminator learns its label embedding
    assert any(k.startswith("G.") and ("gamma" in k or "beta" in k) for k in moved)  # and G its per-label norms
    if settings.get("class_loss"):  # the auxiliary classifier learns, and both phases logged its term
        assert "D.classifier.weight" in moved and {"class_D", "class_G"} <= set(logs)


def test_the_gradient_penalty_judges_interpolates_with_the_batch_labels(monkeypatch):
    """GP and R1 pass the labels to D (a conditional D refuses to run without them)."""
    cfg = conditional_cfg("wgan-gp", r1=1.0)
    model, loss_obj = build_model(cfg, torch.device("cpu"))
    seen = []
    original = model.discriminate

    def spy(x, y=None):
        seen.append(y)
        return original(x, y)

    monkeypatch.setattr(model, "discriminate", spy)
    labels = torch.randint(0, K, (8,))
    loss_obj.phases()[0].compute(model, torch.rand(8, 3, 32, 32), labels)
    assert len(seen) == 4 and all(y is labels for y in seen)  # reals, fakes, interpolates, R1 reals
