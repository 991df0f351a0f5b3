"""Config -> loss object + model family on a device. Shared by training and loading."""

from __future__ import annotations

import torch

from .config import Config
from .errors import ConfigError
from .losses.base import Loss
from .models.base import GenerativeModel
from .registry import LOSSES, MODELS


def pick_device(name: str) -> torch.device:
    """'auto' is the first CUDA GPU when there is one, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"--device: '{name}' requested but no CUDA GPU is available")
    return torch.device(name)


def fast_bf16(device: torch.device) -> bool:
    """Whether bf16 autocast speeds this device up (CUDA with bf16, or a CPU with AVX-512-BF16/AMX).

    On a CPU without native bf16 (e.g. AVX2 only) oneDNN emulates it and training gets 15-40x
    slower, so "auto" must check rather than assume.
    """
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    return False


def resolve_precision(device: torch.device, precision: str) -> str:
    """ "auto" -> bf16 where it is fast, else fp32."""
    if precision == "auto":
        return "bf16" if fast_bf16(device) else "fp32"
    return precision


def use_channels_last(device: torch.device, precision: str) -> bool:
    """Whether the whole model runs channels_last (bf16 kernels, GPUs).

    On an AVX2 CPU in fp32, channels_last made strided-conv backward ~35% slower but transposed
    convs ~3x faster (oneDNN vs the generic path), so there only G goes channels_last.
    """
    return device.type == "cuda" or resolve_precision(device, precision) == "bf16"


def build_model(cfg: Config, runtime) -> tuple[GenerativeModel, Loss]:
    """The loss object and the model family it trains, placed as `runtime` says.

    Args:
        cfg: the resolved config.
        runtime: a `runtime.Runtime`; a plain device is resolved with the config's precision.
    """
    from .runtime import Runtime, resolve_runtime

    if not isinstance(runtime, Runtime):
        runtime = resolve_runtime(cfg, device=runtime)
    loss = LOSSES.get(cfg.loss.loss, flag="--loss")(cfg)
    family = MODELS.get(cfg.model.model, flag="--model")
    model = family.from_config(cfg, loss.critic_spec() if loss.needs_critic else None)
    model = model.to(device=runtime.device)
    if runtime.channels_last:  # no-op for dense layers
        model = model.to(memory_format=torch.channels_last)
        model.d_memory_format = torch.channels_last
    elif model.G is not None:
        model.G.to(memory_format=torch.channels_last)
    return model, loss


COMPILE_BACKEND = "inductor"  # tests swap in "eager" to check the wiring without a C++ build


def compile_networks(model: GenerativeModel) -> None:
    """torch.compile G and D in place (`Module.compile` keeps state_dict keys unchanged, so
    checkpoints of compiled and eager runs are interchangeable).

    Call it after the EMA copy is made: a deep copy of a compiled module still calls the original.
    """
    for net in (model.G, model.D):
        if net is not None:
            net.compile(backend=COMPILE_BACKEND)
