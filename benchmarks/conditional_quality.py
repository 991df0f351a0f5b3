"""Issue 27's measurement: a class-conditional run against the unconditional best recipe.

    # evaluate two runs that already exist (the usual case):
    PYTHONPATH=src python benchmarks/conditional_quality.py --cond-run runs/00007-cond \\
        --uncond-run runs/00006-best --data ../shared/data/paintings_a --n 2000 \\
        --out benchmarks/results/conditional_quality.md

    # train whichever run is not given first (the best recipe, --minutes each, at --size):
    PYTHONPATH=src python benchmarks/conditional_quality.py --data ../shared/data/paintings_a \\
        --labels ../shared/data/paintings_a/labels.csv --label-column style --minutes 30 \\
        --uncond-run runs/00006-best --out benchmarks/results/conditional_quality.md

Reports overall FID conditional vs unconditional, per-label FID for labels with >= 50 images,
and label agreement vs the label classifier's held-out accuracy (artistry.bench.conditional),
with the CPU it ran on. Each run also gets eval/conditional-bench.{json,md}.
"""

from __future__ import annotations

import argparse
import shlex
import sys

from artistry.bench.conditional import run_conditional_quality
from artistry.errors import ArtistryError


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cond-run", metavar="DIR", help="a run trained with --conditional (trained here if absent)")
    p.add_argument("--uncond-run", metavar="DIR", help="an unconditional run on the same data (trained here if absent)")
    p.add_argument("--data", metavar="DIR", help="the image folder both runs trained on [the conditional run's]")
    p.add_argument("--n", type=int, default=2000, help="generated images per run [2000]")
    p.add_argument("--protocol", default="legacy", help="legacy or clean [legacy]")
    p.add_argument("--seed", type=int, default=0, help="first seed of the generated images (and of training) [0]")
    p.add_argument("--checkpoint", default="auto", help="auto, best, last or a step number [auto]")
    p.add_argument("--out", metavar="FILE.md", help="write the report here (and FILE.json)")
    t = p.add_argument_group("training a missing run (the best recipe)")
    t.add_argument("--minutes", type=float, default=30.0, help="wall-clock budget per run [30]")
    t.add_argument("--size", type=int, default=64, help="resolution [64]")
    t.add_argument("--labels", metavar="CSV", help="labels CSV for the conditional run [top-level subfolders]")
    t.add_argument("--label-column", default=None, help="the CSV's label column [label]")
    t.add_argument("--runs-dir", default="runs/bench-conditional", help="where trained runs go")
    args = p.parse_args(argv)
    command = "PYTHONPATH=src python benchmarks/conditional_quality.py " + shlex.join(
        sys.argv[1:] if argv is None else argv
    )
    try:
        cond = args.cond_run or train_missing(args, conditional=True)
        uncond = args.uncond_run or train_missing(args, conditional=False)
        run_conditional_quality(
            cond,
            uncond,
            args.data,
            n=args.n,
            protocol=args.protocol,
            seed=args.seed,
            checkpoint=args.checkpoint,
            out=args.out,
            command=command,
        )
    except ArtistryError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


def train_missing(args: argparse.Namespace, conditional: bool) -> str:
    """Train the best recipe on --data for --minutes (with labels when `conditional`); returns the run dir."""
    import artistry
    from artistry.errors import ConfigError
    from artistry.recipes import config_from

    if not args.data:
        raise ConfigError("--data: needed to train the run that --cond-run/--uncond-run did not give")
    given = {"size": args.size, "max_minutes": args.minutes, "seed": args.seed, "runs_dir": args.runs_dir}
    given["name"] = f"{'cond' if conditional else 'uncond'}-best-{args.minutes:g}min-seed{args.seed}"
    if conditional:
        given["conditional"] = True
        if args.labels:
            given["labels"] = args.labels
        if args.label_column:
            given["label_column"] = args.label_column
    print(f"training {given['name']} ...", file=sys.stderr)
    return str(artistry.train(config_from(args.data, given, "best"), progress=True))


if __name__ == "__main__":
    sys.exit(main())
