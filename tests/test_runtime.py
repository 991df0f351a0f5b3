"""One Runtime decides device, precision, memory format and autocast for the whole run."""

from __future__ import annotations

import pytest
import torch

from artistry import build
from artistry.build import build_model
from artistry.config import resolve
from artistry.errors import ConfigError
from artistry.runtime import Runtime, resolve_runtime


@pytest.mark.parametrize("native_bf16", [False, True])
def test_auto_precision_follows_the_cpu_and_brings_channels_last_with_bf16(tiny_config, monkeypatch, native_bf16):
    """An AVX2-only CPU emulates bf16 15-40x slower, so auto must pick fp32 there (never hard-code)."""
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: native_bf16)
    tiny_config.train.precision, tiny_config.train.device = "auto", "cpu"
    rt = resolve_runtime(resolve(tiny_config))
    assert rt.device == torch.device("cpu")
    assert rt.precision == ("bf16" if native_bf16 else "fp32")
    assert rt.channels_last == native_bf16


def test_explicit_precision_wins_and_autocast_matches_it(tiny_config):
    tiny_config.train.device = "cpu"
    tiny_config.train.precision = "bf16"
    rt = resolve_runtime(resolve(tiny_config))
    assert rt.precision == "bf16" and rt.channels_last
    with rt.autocast():
        assert torch.get_autocast_dtype("cpu") == torch.bfloat16 and torch.is_autocast_enabled("cpu")
    tiny_config.train.precision = "fp32"
    rt = resolve_runtime(resolve(tiny_config))
    with rt.autocast():
        assert not torch.is_autocast_enabled("cpu")


def test_asking_for_a_gpu_that_is_not_there_names_the_flag(tiny_config, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    tiny_config.train.device = "cuda"
    with pytest.raises(ConfigError, match="--device"):
        resolve_runtime(resolve(tiny_config))
    tiny_config.train.device = "auto"
    assert resolve_runtime(resolve(tiny_config)).device == torch.device("cpu")


@pytest.mark.parametrize("channels_last", [False, True])
def test_the_model_is_built_where_and_how_the_runtime_says(tiny_config, channels_last):
    cfg = resolve(tiny_config)
    model, _ = build_model(cfg, Runtime(torch.device("cpu"), "fp32", channels_last))
    conv_d = next(p for p in model.D.parameters() if p.dim() == 4)
    conv_g = next(p for p in model.G.parameters() if p.dim() == 4)
    assert conv_d.is_contiguous(memory_format=torch.channels_last) == channels_last
    assert conv_g.is_contiguous(memory_format=torch.channels_last)  # G always: transposed convs are faster so
    assert model.d_memory_format == (torch.channels_last if channels_last else torch.contiguous_format)


def test_compile_wraps_the_networks_without_renaming_their_weights(tiny_config, monkeypatch):
    """Checkpoints of compiled and eager runs must be interchangeable (same state_dict keys)."""
    import artistry

    monkeypatch.setattr(build, "COMPILE_BACKEND", "eager")  # the wiring, without a C++ build
    tiny_config.train.compile, tiny_config.train.ema, tiny_config.train.steps = True, True, 2
    run = artistry.train(tiny_config, progress=False)
    loaded = artistry.load(run)  # an eager model reads the compiled run's checkpoint
    assert loaded.generate(2).shape == (2, 3, 32, 32)
    artistry.train(resume=run, overrides={"steps": 3, "compile": False}, progress=False)
    assert artistry.load(run).step == 3
