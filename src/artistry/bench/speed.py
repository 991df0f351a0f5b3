"""`artistry bench speed`: training img/s of our DCGAN-64 against the tutorial-style fp32 loop.

Both run in one process, alternating in rounds, so a busy machine slows both alike; the ratio
is the median over rounds.
"""
from __future__ import annotations

import statistics
import time

import torch

from ..build import build_model, resolve_precision, use_channels_last
from ..config import Config, resolve
from ..training.state import TrainState, build_optimizers
from ..training.step import autocast_for, train_step
from .reference_dcgan import ReferenceDCGAN


def _ours(precision: str, batch: int, size: int):
    cfg = Config()
    cfg.data.path, cfg.data.size = "bench", size
    cfg.train.batch, cfg.train.steps, cfg.train.precision = batch, 1, precision
    cfg = resolve(cfg)
    device = torch.device("cpu")
    model, loss = build_model(cfg, device)
    state = TrainState(model, build_optimizers(cfg, model), None, torch.zeros(1, cfg.model.nz),
                       torch.zeros(1, 3, size, size))
    phases = loss.phases()
    prec = resolve_precision(device, precision)
    real = torch.rand(batch, 3, size, size) * 2 - 1
    if use_channels_last(device, precision):
        real = real.contiguous(memory_format=torch.channels_last)

    def step():
        train_step(state, phases, lambda: real, lambda: autocast_for(device, prec), None)
    return step, prec


def _time(fn, steps: int, batch: int) -> float:
    t0 = time.perf_counter()
    for _ in range(steps):
        fn()
    return steps * batch / (time.perf_counter() - t0)


def run_speed(precision: str = "auto", batch: int = 64, steps: int = 5, rounds: int = 5,
              size: int = 64, log=print) -> dict:
    """Alternate `rounds` timed blocks of `steps` steps of each loop; returns the numbers."""
    torch.manual_seed(0)
    ours, prec = _ours(precision, batch, size)
    ref = ReferenceDCGAN()
    real = torch.rand(batch, 3, 64, 64) * 2 - 1
    ref_step = lambda: ref.step(real)  # noqa: E731
    for fn in (ours, ref_step):  # warm-up: oneDNN primitive creation, allocator
        fn()
        fn()
    rows = []
    for r in range(rounds):
        a = _time(ref_step, steps, batch)
        b = _time(ours, steps, batch)
        rows.append((a, b))
        log(f"round {r + 1}/{rounds}: reference {a:6.1f} img/s | artistry ({prec}) {b:6.1f} img/s | ratio {b / a:.2f}x")
    ratio = statistics.median(b / a for a, b in rows)
    result = {"threads": torch.get_num_threads(), "precision": prec, "batch": batch, "size": size,
              "reference_img_s": statistics.median(a for a, _ in rows),
              "artistry_img_s": statistics.median(b for _, b in rows), "ratio": ratio,
              "cpu_bf16_native": bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())}
    log(f"median: reference {result['reference_img_s']:.1f} img/s, artistry {result['artistry_img_s']:.1f} "
        f"img/s, ratio {ratio:.2f}x (precision {prec}, {result['threads']} threads, "
        f"native CPU bf16: {result['cpu_bf16_native']})")
    return result
