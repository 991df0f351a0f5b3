"""The shared tester: every registered model family goes through the whole public path.

Families come from the registry, so a new `@MODELS.register("name")` family is tested here without
editing this file: it builds at two sizes and channel counts with its default loss, every
optimizer a loss phase steps has parameters, it trains, a resumed run ends with the same weights
as an uninterrupted one, and `artistry.load` makes images from the run directory. Families that
declare `supports_conditional` go through the same path class-conditionally (--conditional): labels
and label blends at two sizes, an exact resume that keeps the grid's labels, generation per label.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import artistry
from artistry.build import build_model
from artistry.config import resolve
from artistry.io import checkpoint as ckpt
from artistry.registry import MODELS

FAMILIES = MODELS.names()
CONDITIONAL = [f for f in FAMILIES if MODELS.get(f).supports_conditional]


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize(("size", "channels"), [(32, 1), (64, 3)])
def test_family_builds_and_keeps_the_image_shape(family, size, channels, tiny_config):
    tiny_config.model.model = family
    tiny_config.data.size, tiny_config.data.channels = size, channels
    model, loss = build_model(resolve(tiny_config), torch.device("cpu"))
    model.eval()
    x = torch.rand(4, channels, size, size) * 2 - 1  # [N, C, H, W] in [-1, 1]
    with torch.no_grad():
        out = model.generate(model.sample_latents(4, "cpu")) if model.can_sample else model.G(x)
        assert out.shape == (4, channels, size, size)
        if loss.needs_critic:
            assert model.discriminate(x).shape == (4,)
    assert {phase.optimizer for phase in loss.phases()} == set(model.param_groups())


def train_full_and_resumed(cfg):
    """Runs cfg for 4 steps, and for 2 steps then resumed to 4: (full run, resumed run, the
    untrained model, each run's last checkpoint), after checking both ended on the same weights."""
    cfg.train.steps, cfg.train.ema, cfg.train.name = 4, True, "full"
    torch.manual_seed(cfg.train.seed)
    untrained, _ = build_model(resolve(cfg), torch.device("cpu"))
    full = artistry.train(cfg, progress=False)
    cfg.train.steps, cfg.train.name = 2, "split"
    split = artistry.train(cfg, progress=False)
    artistry.train(resume=split, overrides={"steps": 4}, progress=False)

    a, meta_a = ckpt.load(ckpt.list_checkpoints(full / "checkpoints")[-1][1])
    b, meta_b = ckpt.load(ckpt.list_checkpoints(split / "checkpoints")[-1][1])
    assert meta_a["step"] == meta_b["step"] == 4 and meta_a["images_seen"] == meta_b["images_seen"]
    for k in a:
        if k.startswith(("model.", "ema.", "optim.")):
            torch.testing.assert_close(a[k], b[k], rtol=1e-6, atol=1e-7, msg=k)
    assert any(
        not torch.equal(v, a[f"model.{k}"])
        for k, v in untrained.state_dict().items()
        if k.startswith("G.") and v.dtype.is_floating_point
    )
    return full, split, untrained, (a, meta_a), (b, meta_b)


@pytest.mark.parametrize("family", FAMILIES)
def test_family_trains_resumes_exactly_and_loads(family, tiny_config):
    tiny_config.model.model = family
    full, *_ = train_full_and_resumed(tiny_config)

    run = artistry.load(full)
    if run.can_sample:
        images = run.generate(2, seed=0)
    else:
        images = run.denoise(np.full((2, 3, 32, 32), 128, dtype=np.uint8))
    assert images.dtype == np.uint8 and images.shape == (2, 3, 32, 32)


def conditional(cfg, family: str):
    """cfg made class-conditional on the tiny folder's two labels (12 images each)."""
    cfg.model.model = family
    cfg.data.conditional, cfg.data.min_label_images = True, 1
    return cfg


@pytest.mark.parametrize("family", CONDITIONAL)
@pytest.mark.parametrize(("size", "channels"), [(32, 1), (64, 3)])
def test_conditional_family_takes_labels_and_blends(family, size, channels, tiny_config):
    cfg = tiny_config
    cfg.model.model, cfg.data.size, cfg.data.channels = family, size, channels
    cfg.data.conditional, cfg.data.label_names, cfg.model.num_classes = True, ["a", "b", "c"], 3
    model, loss = build_model(resolve(cfg), torch.device("cpu"))
    model.eval()
    assert model.num_classes == 3
    z = model.sample_latents(4, "cpu")
    indices = torch.tensor([0, 1, 2, 0])
    blends = torch.tensor([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    with torch.no_grad():
        for y in (indices, blends):
            x = model.generate(z, y)
            assert x.shape == (4, channels, size, size) and x.abs().max() <= 1
            if loss.needs_critic:
                assert model.discriminate(x, y).shape == (4,)
        # a blend that puts all its weight on one label is that label
        torch.testing.assert_close(model.generate(z[2:], blends[2:]), model.generate(z[2:], indices[2:]))


@pytest.mark.parametrize("family", CONDITIONAL)
def test_conditional_family_resumes_exactly_and_generates_per_label(family, tiny_config):
    full, _, _, (a, meta_a), (b, meta_b) = train_full_and_resumed(conditional(tiny_config, family))
    assert meta_a["label_names"] == meta_b["label_names"] == ["a", "b"]
    assert torch.equal(a["fixed.y"], b["fixed.y"]) and set(a["fixed.y"].tolist()) == {0, 1}

    run = artistry.load(full)
    assert run.num_classes == 2
    z = run.latents(range(2))
    as_a = run.images_from_latents(z, labels=torch.tensor([0, 0]))
    assert as_a.dtype == np.uint8 and as_a.shape == (2, 3, 32, 32)
    assert np.array_equal(run.images_from_latents(z, labels=run.label_weights("a", 2)), as_a)
