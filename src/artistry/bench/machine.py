"""Which machine a benchmark ran on: every benchmark's output names it.

The CPUs these numbers come from differ in ways that change them by 2-40x (bf16 native or
emulated, thread count), so the description says those, not just the model name.
"""

from __future__ import annotations

import os
import platform

import torch

SPEED_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")  # the CPU flags that decide our speed


def _cpuinfo() -> tuple[str, set[str]]:
    """(model name, flags) from /proc/cpuinfo; what `platform` knows and no flags elsewhere."""
    name, flags = None, set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = (part.strip() for part in line.partition(":"))
                if key == "model name" and name is None:
                    name = value
                elif key == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    return name or platform.processor() or platform.machine(), flags


def describe_machine(device: torch.device | str | None = None) -> str:
    """One line: CPU, cores and threads, its speed flags, native bf16 or not, torch; the GPU first
    when `device` is CUDA."""
    name, flags = _cpuinfo()
    have = " ".join(f for f in SPEED_FLAGS if f in flags) or "none of " + "/".join(SPEED_FLAGS)
    bf16 = "native bf16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "no native bf16"
    text = (
        f"{name}, {os.cpu_count()} cores, {torch.get_num_threads()} threads, flags {have}, {bf16}, "
        f"torch {torch.__version__}, python {platform.python_version()}"
    )
    if device is not None and torch.device(device).type == "cuda":
        text = f"{torch.cuda.get_device_name(device)}; host {text}"
    return text
