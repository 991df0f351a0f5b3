"""`artistry bench speed`: training img/s of our DCGAN-64 against the tutorial-style fp32 loop.

Both run in one process on the same device, alternating in rounds, so a busy machine slows both
alike; the ratio is the median over rounds. On a GPU each timed block ends with a synchronize,
so queued kernels are counted.
"""

from __future__ import annotations

import statistics
import time

import torch

from ..build import build_model
from ..config import Config, resolve
from ..runtime import Runtime, resolve_runtime, set_fast_math
from ..training.state import TrainState, build_optimizers
from .machine import describe_machine
from .reference_dcgan import ReferenceDCGAN


def _ours(runtime_cfg: Config, recipe: str | None, batch: int, size: int, overrides: dict | None = None):
    """One training step of our loop (the recipe's networks and options, with `overrides` of its
    config fields, e.g. widths) on fixed real images."""
    from ..recipes import config_from

    given = {
        "size": size,
        "batch": batch,
        "steps": 1,
        "precision": runtime_cfg.train.precision,
        "device": runtime_cfg.train.device,
        "compile": runtime_cfg.train.compile,
        **(overrides or {}),
    }
    cfg = config_from("bench", given, recipe) if recipe else _plain(given)
    cfg.train.eval_at = ""  # no evaluation inside a speed test
    cfg = resolve(cfg)
    runtime = resolve_runtime(cfg)
    model, loss = build_model(cfg, runtime)
    if cfg.train.augment:
        from ..data.augment import DiffAugment

        model.augment = DiffAugment(cfg.train.augment)
    ema = None
    if cfg.train.ema:
        from ..training.state import make_ema

        ema = make_ema(model)
    if runtime.compile:
        from ..build import compile_networks

        compile_networks(model)
    state = TrainState(
        model, build_optimizers(cfg, model), ema, torch.zeros(1, cfg.model.nz), torch.zeros(1, 3, size, size)
    )
    phases = loss.phases()
    real = torch.rand(batch, 3, size, size, device=runtime.device) * 2 - 1
    if runtime.channels_last:
        real = real.contiguous(memory_format=torch.channels_last)
    beta = (lambda seen: 0.999) if ema is not None else None  # noqa: E731
    from ..training.step import train_step

    def step():
        train_step(state, phases, lambda: real, runtime.autocast, beta)

    return step, runtime


def _plain(given: dict) -> Config:
    """The tutorial's networks and loss (no recipe), for a like-for-like comparison."""
    cfg = Config()
    cfg.data.path = "bench"
    for k, v in given.items():
        cfg.set(k, v)
    return cfg


def _time(fn, steps: int, batch: int, runtime: Runtime) -> float:
    sync = torch.cuda.synchronize if runtime.is_cuda else (lambda: None)
    sync()
    t0 = time.perf_counter()
    for _ in range(steps):
        fn()
    sync()
    return steps * batch / (time.perf_counter() - t0)


def machine_description(runtime: Runtime) -> str:
    """The processor (and GPU) the numbers come from: benchmarks must say where they ran."""
    return describe_machine(runtime.device)


def run_speed(
    precision: str = "auto",
    batch: int = 64,
    steps: int = 5,
    rounds: int = 5,
    size: int = 64,
    log=print,
    device: str = "cpu",
    recipe: str | None = None,
    compile: bool = False,
    warmup: int = 2,
) -> dict:
    """Alternate `rounds` timed blocks of `steps` steps of each loop; returns the numbers.

    Args:
        precision: our loop's precision (auto, bf16, fp32); the reference is always fp32.
        batch: images per step for both loops.
        device: cpu, cuda, cuda:N or auto; both loops run there.
        recipe: None for the tutorial's own networks; "best", "fast" or "classic" for a recipe's.
        compile: torch.compile our networks (the reference stays eager).
        warmup: untimed steps of each loop first (kernel selection, compilation, allocator).
    """
    torch.manual_seed(0)
    cfg = Config()
    cfg.train.precision, cfg.train.device, cfg.train.compile = precision, device, compile
    ours, runtime = _ours(cfg, recipe, batch, size)
    set_fast_math(runtime)  # the reference gets TF32 too: both as a GPU user would run them
    ref = ReferenceDCGAN(device=runtime.device)
    real = torch.rand(batch, 3, 64, 64, device=runtime.device) * 2 - 1
    ref_step = lambda: ref.step(real)  # noqa: E731
    for fn in (ours, ref_step):
        for _ in range(warmup):
            fn()
    rows = []
    label = f"artistry {recipe or 'dcgan'} ({runtime.precision})"
    for r in range(rounds):
        a = _time(ref_step, steps, batch, runtime)
        b = _time(ours, steps, batch, runtime)
        rows.append((a, b))
        log(f"round {r + 1}/{rounds}: reference {a:8.1f} img/s | {label} {b:8.1f} img/s | ratio {b / a:.2f}x")
    ratio = statistics.median(b / a for a, b in rows)
    result = {
        "threads": torch.get_num_threads(),
        "precision": runtime.precision,
        "batch": batch,
        "size": size,
        "device": str(runtime.device),
        "recipe": recipe or "",
        "compile": compile,
        "machine": machine_description(runtime),
        "reference_img_s": statistics.median(a for a, _ in rows),
        "artistry_img_s": statistics.median(b for _, b in rows),
        "ratio": ratio,
        "cpu_bf16_native": bool(torch.ops.mkldnn._is_mkldnn_bf16_supported()),
    }
    log(
        f"median: reference {result['reference_img_s']:.1f} img/s, {label} {result['artistry_img_s']:.1f} "
        f"img/s, ratio {ratio:.2f}x on {result['machine']}"
    )
    return result
