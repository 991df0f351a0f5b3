"""`artistry train`: flags -> Config -> artistry.train()."""

from __future__ import annotations

import argparse
import os
import sys

NAME = "train"
HELP = "train a model on a folder of images"
DESCRIPTION = """Train a model on a folder of images (or continue a run with --resume).

Values in [] are the defaults. [best: VALUE] marks an option that a recipe sets: VALUE is what
the default recipe, best, gives it. --recipe classic or fast sets other values, --model vae or dae
uses no recipe, and any flag you give wins; --dry-run prints the resolved config of a run."""
EPILOG = """examples:
  artistry train data/demo --size 64 --max-minutes 10        # the best recipe (default)
  artistry train data/demo --recipe classic --dry-run        # show what a recipe sets
  artistry train ~/art --model dcgan --loss hinge --ema --steps 5000 --name my-art
  artistry train ~/art --model mlp --size 32 --epochs 50 --dry-run
  artistry train --resume runs/00003-my-art              # continue after Ctrl-C or a crash
  artistry train --resume runs/00003-my-art --steps 20000  # ... with a bigger budget
  artistry train ~/art --size 256 --gpus 4 --max-minutes 600  # one process per GPU (launches torchrun)
  torchrun --nproc_per_node 8 -m artistry train ~/art --size 256  # the same through torchrun directly
  artistry train --resume runs/00012-art --gpus 2          # resume with any number of processes
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..config_flags import add_config_flags

    p.add_argument("data", nargs="?", metavar="DIR", help="folder of images (searched recursively)")
    p.add_argument("--resume", metavar="RUN", help="continue the run in this run directory")
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    many = p.add_argument_group("many processes (see README, 'Many GPUs')")
    many.add_argument(
        "--gpus",
        type=int,
        default=None,
        metavar="N",
        help="train on N GPUs of this machine, one process each (launches torchrun); "
        "--batch is the global batch, split evenly over them",
    )
    many.add_argument(
        "--nproc",
        type=int,
        default=None,
        metavar="N",
        help="N processes on the CPU with gloo (tests and measurements; one GPU-less machine rarely gains from it)",
    )
    add_config_flags(p)


def run(args: argparse.Namespace) -> int:
    from ... import api
    from ...config import resolve
    from ...errors import ConfigError
    from ..config_flags import given_flags

    given = given_flags(args)
    if ((args.gpus or 0) > 1 or (args.nproc or 0) > 1) and not args.dry_run:
        from ..launch import launch_torchrun

        return launch_torchrun(args)
    if args.gpus is not None or args.nproc is not None:
        _check_counts(args)
    if args.resume:
        if args.data:
            raise ConfigError("give either DIR or --resume, not both")
        if args.dry_run:
            from ...runs import read_config

            print(read_config(args.resume).to_json())
            return 0
        run_dir = api.train(resume=args.resume, overrides=given, progress=not args.quiet)
    else:
        if not args.data:
            raise ConfigError("DIR: give the folder of images to train on (or --resume RUN)")
        from ...recipes import config_from

        recipe = given.pop("recipe", None)
        cfg = config_from(args.data, given, recipe)
        if args.dry_run:
            print(resolve(cfg).to_json())
            return 0
        run_dir = api.train(cfg, progress=not args.quiet)
    if int(os.environ.get("RANK", "0")) > 0:  # under torchrun rank 0 says where the run is
        return 0
    print(f"run directory: {run_dir}", file=sys.stderr)
    print(
        f"  samples: {run_dir / 'samples'}   timelapse: {run_dir / 'timelapse.gif'}   losses: {run_dir / 'losses.png'}",
        file=sys.stderr,
    )
    from ...registry import MODELS
    from ...runs import read_config

    if MODELS.get(read_config(run_dir).model.model).can_sample:
        print(f"  make images: artistry generate {run_dir} --n 16 --out {run_dir / 'generated'}", file=sys.stderr)
    else:  # a denoiser cleans images instead of making them
        print(f"  clean images: artistry postprocess IN_DIR --out OUT_DIR --denoise {run_dir}", file=sys.stderr)
    return 0


def _check_counts(args: argparse.Namespace) -> None:
    from ...errors import ConfigError

    for flag, n in (("--gpus", args.gpus), ("--nproc", args.nproc)):
        if n is not None and n < 1:
            raise ConfigError(f"{flag} must be at least 1, got {n}")
