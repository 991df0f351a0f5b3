"""The shared tester: every registered model family goes through the whole public path.

Families come from the registry, so a new `@MODELS.register("name")` family is tested here without
editing this file: it builds at two sizes and channel counts with its default loss, every
optimizer a loss phase steps has parameters, it trains, a resumed run ends with the same weights
as an uninterrupted one, and `artistry.load` makes images from the run directory.
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


@pytest.mark.parametrize("family", FAMILIES)
def test_family_trains_resumes_exactly_and_loads(family, tiny_config):
    tiny_config.model.model = family
    tiny_config.train.steps, tiny_config.train.ema, tiny_config.train.name = 4, True, "full"
    torch.manual_seed(tiny_config.train.seed)
    untrained, _ = build_model(resolve(tiny_config), torch.device("cpu"))
    full = artistry.train(tiny_config, progress=False)
    tiny_config.train.steps, tiny_config.train.name = 2, "split"
    split = artistry.train(tiny_config, progress=False)
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

    run = artistry.load(full)
    if run.can_sample:
        images = run.generate(2, seed=0)
    else:
        images = run.denoise(np.full((2, 3, 32, 32), 128, dtype=np.uint8))
    assert images.dtype == np.uint8 and images.shape == (2, 3, 32, 32)
