"""Where and how a run computes: device, precision, memory format, autocast, compilation.

Resolved once from the config (`resolve_runtime`) and handed to the loader, the model builder,
the trainer and the step; nothing else asks the hardware. When every part asked on its own
(device here, precision there, channels_last somewhere else), CPU and CUDA runs could drift
apart in ways no CPU test saw.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch

from .build import pick_device, resolve_precision, use_channels_last
from .config import Config


@dataclass(frozen=True)
class Runtime:
    """The resolved computing choices of one process.

    Args:
        device: where models, batches and optimizer state live.
        precision: "bf16" (autocast) or "fp32"; never "auto".
        channels_last: whole model and batches in channels_last (bf16 kernels, GPUs); when False
            only G is (transposed convs are ~3x faster so on an AVX2 CPU, strided ones slower).
        compile: wrap G and D in torch.compile (opt-in: `--compile`).
    """

    device: torch.device
    precision: str = "fp32"
    channels_last: bool = False
    compile: bool = False

    def autocast(self) -> contextlib.AbstractContextManager:
        """bf16 autocast on this device, or nothing in fp32."""
        if self.precision == "bf16":
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    def describe(self) -> str:
        """One line for logs: 'cuda:0 (NVIDIA H200), bf16, channels_last'."""
        name = str(self.device)
        if self.is_cuda:
            name += f" ({torch.cuda.get_device_name(self.device)})"
        parts = [name, self.precision] + (["channels_last"] if self.channels_last else [])
        return ", ".join(parts + (["compiled"] if self.compile else []))


def resolve_runtime(cfg: Config, device: str | torch.device | None = None) -> Runtime:
    """The Runtime for `cfg` on this machine; `device` overrides the config's (e.g. for loading)."""
    dev = pick_device(str(device) if device is not None else cfg.train.device)
    if device is None:  # under torchrun each process trains on its own GPU, cuda:LOCAL_RANK
        from .distributed import device_for

        dev = device_for(dev)
    precision = resolve_precision(dev, cfg.train.precision)
    return Runtime(
        device=dev,
        precision=precision,
        channels_last=use_channels_last(dev, precision),
        compile=cfg.train.compile,
    )


def set_fast_math(runtime: Runtime) -> None:
    """TF32 for fp32 matmuls/convs on CUDA (Ampere and later): 8x the fp32 rate, 10-bit mantissa,
    as the cuDNN conv default already is. A no-op elsewhere."""
    if runtime.is_cuda:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True  # fixed shapes every step: pick the fastest kernels once
