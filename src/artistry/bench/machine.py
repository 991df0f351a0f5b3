"""Which machine a benchmark ran on: every benchmark's output names it.

The CPUs these numbers come from differ in ways that change them by 2-40x (bf16 native or
emulated, thread count), so the description says those, not just the model name.
"""

from __future__ import annotations

import os
import platform

import torch


def cpu_name() -> str:
    """The processor's model name from /proc/cpuinfo, else what `platform` knows."""
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), name)
    except OSError:
        return name


def describe_machine(device: torch.device | str | None = None) -> str:
    """One line: CPU, cores and threads, native bf16 or not, torch; the GPU first when `device` is CUDA."""
    bf16 = "native bf16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "no native bf16"
    text = (
        f"{cpu_name()}, {os.cpu_count()} cores, {torch.get_num_threads()} threads, {bf16}, "
        f"torch {torch.__version__}, python {platform.python_version()}"
    )
    if device is not None and torch.device(device).type == "cuda":
        text = f"{torch.cuda.get_device_name(device)}; host {text}"
    return text
