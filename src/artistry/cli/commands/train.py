"""`artistry train`: flags -> Config -> artistry.train()."""
from __future__ import annotations

import argparse
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
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..config_flags import add_config_flags

    p.add_argument("data", nargs="?", metavar="DIR", help="folder of images (searched recursively)")
    p.add_argument("--resume", metavar="RUN", help="continue the run in this run directory")
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    add_config_flags(p)


def run(args: argparse.Namespace) -> int:
    from ... import api
    from ...config import resolve
    from ...errors import ConfigError
    from ..config_flags import given_flags

    given = given_flags(args)
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
    print(f"run directory: {run_dir}", file=sys.stderr)
    print(f"  samples: {run_dir / 'samples'}   timelapse: {run_dir / 'timelapse.gif'}   "
          f"losses: {run_dir / 'losses.png'}", file=sys.stderr)
    from ...registry import MODELS
    from ...runs import read_config
    if MODELS.get(read_config(run_dir).model.model).can_sample:
        print(f"  make images: artistry generate {run_dir} --n 16 --out {run_dir / 'generated'}",
              file=sys.stderr)
    else:  # a denoiser cleans images instead of making them
        print(f"  clean images: artistry postprocess IN_DIR --out OUT_DIR --denoise {run_dir}", file=sys.stderr)
    return 0
