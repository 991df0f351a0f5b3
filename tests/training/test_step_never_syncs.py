"""A training step never waits on the device: no .item(), float(), bool() or data-dependent shape.

The step runs on PyTorch's meta device, where tensors have shapes but no values: anything that
needs a value on the host (a sync on a GPU) raises there. One `float()` per logged loss per step
kept an H200 ~99% idle; this keeps it from creeping back, for every family, loss and option.
"""

from __future__ import annotations

import pytest
import torch

from artistry.build import build_model
from artistry.config import resolve
from artistry.data.augment import DiffAugment
from artistry.runtime import Runtime
from artistry.training.state import TrainState, build_optimizers, make_ema
from artistry.training.step import train_step

META = Runtime(torch.device("meta"))
CONDITIONAL = {"conditional": True, "label_names": ["a", "b", "c"], "num_classes": 3}

CASES = [
    ("dcgan", "bce", {}),
    ("dcgan", "bce", {"mbstd": True, "upsample": "resize", "ema": True, "augment": "color,translation,cutout"}),
    ("dcgan", "bce", {"pack": 2, "mbdisc": 4, "fm": 0.1, "r1": 1.0, "label_smoothing": 0.1}),
    ("dcgan", "wgan", {}),
    ("dcgan", "wgan-gp", {"pack": 2}),
    ("dcgan", "hinge", {"ema": True}),
    ("mlp", "bce", {"mbstd": True, "fm": 0.1}),
    ("mlp", "wgan-gp", {}),
    ("vae", "elbo", {"kl_warmup": 100}),
    ("dae", "denoise", {"noise": "gaussian:0.2,saltpepper:0.05,blur,mask"}),
    ("dcgan", "bce", {**CONDITIONAL, "mbstd": True, "upsample": "resize", "ema": True, "augment": "color"}),
    ("dcgan", "bce", {**CONDITIONAL, "class_loss": 0.5, "mbstd": True, "fm": 0.1}),
    ("dcgan", "wgan-gp", {**CONDITIONAL, "r1": 1.0, "fm": 0.1}),
    ("vae", "elbo", {**CONDITIONAL, "kl_warmup": 100}),
    ("vae", "bce", {**CONDITIONAL, "r1": 1.0, "fm": 0.1}),
    ("fastgan", "hinge", {**CONDITIONAL, "ema": True, "augment": "color,translation,cutout"}),
    ("fastgan", "wgan-gp", {**CONDITIONAL, "r1": 1.0, "fm": 0.1, "mbstd": True}),
]


def _state_on_meta(tiny_config, model_name, loss, options):
    tiny_config.model.model, tiny_config.loss.loss = model_name, loss
    for k, v in options.items():
        tiny_config.set(k, v)
    cfg = resolve(tiny_config)
    model, loss_obj = build_model(cfg, META)
    if cfg.train.augment:
        model.augment = DiffAugment(cfg.train.augment)
    ema = make_ema(model) if cfg.train.ema else None
    nz = cfg.model.nz
    state = TrainState(
        model,
        build_optimizers(cfg, model),
        ema,
        torch.zeros(1, nz, device="meta"),
        torch.zeros(1, 3, 32, 32, device="meta"),
    )
    return cfg, state, loss_obj


@pytest.mark.parametrize(
    "model_name,loss,options", CASES, ids=lambda x: str(x) if not isinstance(x, dict) else "+".join(x) or "plain"
)
def test_a_step_needs_no_value_on_the_host(tiny_config, model_name, loss, options):
    cfg, state, loss_obj = _state_on_meta(tiny_config, model_name, loss, options)
    real = torch.zeros(cfg.train.batch, 3, 32, 32, device="meta")
    labels = torch.zeros(cfg.train.batch, dtype=torch.long, device="meta")
    batch = (real, labels) if cfg.model.num_classes else real
    beta = (lambda seen: 0.99) if state.ema is not None else None
    for _ in range(2):  # the second step runs with optimizer state
        logs, drawn = train_step(state, loss_obj.phases(), lambda: batch, META.autocast, beta)
    assert drawn == cfg.train.batch * loss_obj.n_critic if loss_obj.needs_critic else cfg.train.batch
    tensors = [v for v in logs.values() if torch.is_tensor(v)]
    assert tensors and all(v.device.type == "meta" and v.dim() == 0 for v in tensors)
    assert state.step == 2


def test_the_meta_device_does_catch_a_host_sync():
    """What makes the test above able to fail: a value read on the host raises on meta."""
    x = torch.zeros(3, device="meta").sum()
    for read in (float, bool, lambda t: t.item(), lambda t: t.tolist()):
        with pytest.raises((RuntimeError, NotImplementedError)):
            read(x)
    with pytest.raises((RuntimeError, NotImplementedError)):
        torch.zeros(3, device="meta")[torch.zeros(3, device="meta") > 0]  # a data-dependent shape


def test_logs_become_numbers_in_one_transfer_per_device():
    from artistry.training.callbacks.metrics_log import to_floats

    values = [torch.tensor(1.5), 2, torch.tensor(-3.0, dtype=torch.float64), torch.tensor(4, dtype=torch.int64)]
    assert to_floats(values) == [1.5, 2.0, -3.0, 4.0]
    assert to_floats([]) == []


def test_the_training_loop_itself_needs_no_value_on_the_host(tiny_config, tmp_path):
    """The loop around the step (budget, learning-rate tail, EMA decay, batches) on meta too."""
    import numpy as np

    from artistry.data.loader import BatchLoader
    from artistry.training.trainer import Trainer

    tiny_config.train.ema, tiny_config.train.lr_tail, tiny_config.data.mirror = True, 0.5, True
    tiny_config.train.steps = 3
    cfg, state, loss_obj = _state_on_meta(tiny_config, "dcgan", "bce", {"mbstd": True})
    images = np.zeros((16, 3, 32, 32), dtype=np.uint8)
    loader = BatchLoader(images, cfg.train.batch, mirror=True, device="meta")
    trainer = Trainer(cfg, tmp_path, state, loss_obj, loader, [], META)
    assert trainer.fit() == "steps" and state.step == 3
