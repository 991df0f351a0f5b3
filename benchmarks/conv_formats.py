"""Time one DCGAN-64 conv and transposed-conv layer (batch 32, forward + backward) for each
precision (fp32, bf16 autocast) and memory format (contiguous, channels_last).

This is what `--precision auto` and the G-only channels_last choice in build.py rest on.

    .venv/bin/python benchmarks/conv_formats.py [--repeats 5]
"""

import argparse
import time

import torch
from torch import nn


def timed(fn, repeats):
    fn()
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - t0) / repeats * 1000


def layer_ms(layer, x, precision, channels_last, repeats):
    if channels_last:
        layer = layer.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    x = x.detach().requires_grad_()

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            y = layer(x)
        y.float().sum().backward()

    return timed(step, repeats)


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args()
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU capability "
        f"{torch.backends.cpu.get_cpu_capability()}, native bf16: {torch.ops.mkldnn._is_mkldnn_bf16_supported()}"
    )
    convt = (nn.ConvTranspose2d(64, 32, 4, 2, 1, bias=False), torch.randn(32, 64, 16, 16))
    conv = (nn.Conv2d(32, 64, 4, 2, 1, bias=False), torch.randn(32, 32, 32, 32))
    print("precision  format          convT fwd+bwd ms   conv fwd+bwd ms")
    for precision in ("fp32", "bf16"):
        for cl in (False, True):
            t1 = layer_ms(*convt, precision, cl, a.repeats)
            t2 = layer_ms(*conv, precision, cl, a.repeats)
            print(f"{precision:9}  {'channels_last' if cl else 'contiguous':14}  {t1:16.1f}   {t2:15.1f}")
