"""--rejection and --rejection-steps, shared by `generate` and `evaluate`."""
from __future__ import annotations

import argparse
import sys

from ..errors import ConfigError


def add_rejection_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rejection", action="store_true",
                   help="keep only seeds that pass discriminator rejection sampling (needs the training images)")
    p.add_argument("--rejection-steps", type=int, default=1000, metavar="N",
                   help="classifier fitting steps for --rejection [1000]")


def check_rejection_arguments(args: argparse.Namespace) -> None:
    if args.rejection_steps < 1:
        raise ConfigError("--rejection-steps must be at least 1")


def pick_seeds(loaded, n: int, seed: int, args: argparse.Namespace, batch: int = 64) -> tuple[list[int], dict | None]:
    """Seeds SEED..SEED+n-1, or with --rejection the first n seeds from SEED on that pass it.

    Returns (seeds, a summary of the rejection step for reports, or None)."""
    if not args.rejection:
        return list(range(seed, seed + n)), None
    from ..rejection_run import keep_seeds

    print(f"rejection sampling: fitting a real-vs-generated classifier for {args.rejection_steps} steps ...",
          file=sys.stderr)
    kept = keep_seeds(loaded, n, seed, steps=args.rejection_steps, batch=batch)
    print(f"rejection sampling: kept {len(kept.seeds)} of {kept.drawn} candidate seeds "
          f"({100 * kept.acceptance:.1f}%), classifier fitted on {kept.real_images} training images",
          file=sys.stderr)
    if not kept.seeds:
        raise ConfigError(f"--rejection: no seed passed within {kept.drawn} candidates")
    if len(kept.seeds) < n:
        print(f"warning: only {len(kept.seeds)} of --n {n} seeds passed within {kept.drawn} candidates",
              file=sys.stderr)
    summary = {"steps": args.rejection_steps, "candidates": kept.drawn, "kept": len(kept.seeds),
               "acceptance": kept.acceptance}
    return kept.seeds, summary
