"""Median time of one training step (train_step only, fixed real batch, one thread).

For before/after comparisons on a busy machine, run two code trees at the same time, one per
core, then swap the cores, so both see the same contention:

    taskset -c 0 .venv/bin/python benchmarks/step_time.py --recipe best --label new &
    taskset -c 1 env PYTHONPATH=/path/to/old/src .venv/bin/python benchmarks/step_time.py --recipe best --label old &
    wait    # then again with the cores swapped

Works on trees from before the Runtime (76ba4c3) too, so old and new can be compared.
"""

from __future__ import annotations

import argparse
import time

import torch


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipe", default="", help="classic, fast or best; empty for the tutorial's networks")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=12)
    p.add_argument("--label", default="")
    args = p.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    from artistry.build import build_model
    from artistry.config import Config, resolve
    from artistry.training import step as stepmod
    from artistry.training.state import TrainState, build_optimizers

    if args.recipe:
        from artistry.recipes import config_from

        cfg = config_from("bench", {"steps": 1, "batch": args.batch}, args.recipe)
        cfg.train.eval_at = ""
    else:
        cfg = Config()
        cfg.data.path, cfg.train.steps, cfg.train.batch = "bench", 1, args.batch
    cfg = resolve(cfg)
    device = torch.device("cpu")
    model, loss = build_model(cfg, device)
    if cfg.train.augment:
        from artistry.data.augment import DiffAugment

        model.augment = DiffAugment(cfg.train.augment)
    try:  # the Runtime decides autocast and memory format
        from artistry.runtime import resolve_runtime

        runtime = resolve_runtime(cfg)
        autocast, channels_last = runtime.autocast, runtime.channels_last
    except ImportError:  # older trees
        from artistry.build import resolve_precision, use_channels_last

        precision = resolve_precision(device, cfg.train.precision)
        autocast = lambda: stepmod.autocast_for(device, precision)  # noqa: E731
        channels_last = use_channels_last(device, cfg.train.precision)
    size = cfg.data.size
    state = TrainState(
        model, build_optimizers(cfg, model), None, torch.zeros(1, cfg.model.nz), torch.zeros(1, 3, size, size)
    )
    real = torch.rand(args.batch, 3, size, size) * 2 - 1
    if channels_last:
        real = real.contiguous(memory_format=torch.channels_last)
    phases = loss.phases()
    for _ in range(3):
        stepmod.train_step(state, phases, lambda: real, autocast, None)
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        stepmod.train_step(state, phases, lambda: real, autocast, None)
        times.append(time.perf_counter() - t0)
    times.sort()
    median = times[len(times) // 2]
    print(
        f"{args.label} {args.recipe or 'dcgan'} batch {args.batch}: median step {1000 * median:.0f} ms, "
        f"min {1000 * times[0]:.0f} ms ({args.batch / median:.1f} img/s)"
    )


if __name__ == "__main__":
    main()
