"""build.py: which device, precision and memory format a config gets, decided without a GPU."""

from __future__ import annotations

import pytest
import torch

from artistry import build
from artistry.build import build_model, pick_device, resolve_precision, use_channels_last
from artistry.config import Config, resolve
from artistry.errors import ConfigError

CPU, CUDA = torch.device("cpu"), torch.device("cuda")


def test_auto_device_is_the_gpu_only_when_there_is_one(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device("auto") == CPU
    with pytest.raises(ConfigError, match="--device: 'cuda:1' requested but no CUDA GPU"):
        pick_device("cuda:1")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device("auto") == CUDA
    assert pick_device("cuda:1") == torch.device("cuda", 1)
    assert pick_device("cpu") == CPU  # an explicit CPU stays on the CPU


@pytest.mark.parametrize("fast", [True, False])
def test_auto_precision_is_bf16_only_where_it_is_fast(monkeypatch, fast):
    """On an AVX2-only CPU bf16 is emulated and 15-40x slower: auto must not pick it there."""
    monkeypatch.setattr(build, "fast_bf16", lambda device: fast)
    assert resolve_precision(CPU, "auto") == ("bf16" if fast else "fp32")
    assert resolve_precision(CPU, "fp32") == "fp32" and resolve_precision(CPU, "bf16") == "bf16"


def test_channels_last_on_gpus_and_bf16_only(monkeypatch):
    monkeypatch.setattr(build, "fast_bf16", lambda device: False)
    assert use_channels_last(CUDA, "fp32") and use_channels_last(CPU, "bf16")
    assert not use_channels_last(CPU, "fp32") and not use_channels_last(CPU, "auto")


def _cfg(precision):
    cfg = Config()
    cfg.data.path, cfg.data.size, cfg.train.steps, cfg.train.precision = "x", 32, 1, precision
    cfg.model.ngf = cfg.model.ndf = 4
    return resolve(cfg)


def _conv_formats(net):
    return {
        m.weight.is_contiguous(memory_format=torch.channels_last)
        for m in net.modules()
        if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))
    }


def test_fp32_cpu_model_puts_only_the_generator_in_channels_last(monkeypatch):
    """Measured on an AVX2 CPU: channels_last speeds transposed convs ~3x but slows the critic's
    strided-conv backward ~35%, so in fp32 only G goes channels_last."""
    monkeypatch.setattr(build, "fast_bf16", lambda device: False)
    model, _ = build_model(_cfg("fp32"), CPU)
    assert _conv_formats(model.G) == {True}
    assert _conv_formats(model.D) == {False}
    assert all(p.dtype == torch.float32 and p.device == CPU for p in model.parameters())


def test_bf16_model_is_channels_last_throughout_with_fp32_weights(monkeypatch):
    monkeypatch.setattr(build, "fast_bf16", lambda device: True)
    model, _ = build_model(_cfg("auto"), CPU)
    assert _conv_formats(model.G) == {True} and _conv_formats(model.D) == {True}
    assert model.d_memory_format == torch.channels_last  # real batches are converted to match
    assert all(p.dtype == torch.float32 for p in model.parameters())  # autocast computes in bf16, not the weights
