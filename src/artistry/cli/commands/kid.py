"""`artistry kid A B`: Kernel Inception Distance between two folders of images (or stats files)."""

from __future__ import annotations

import argparse
import sys

from .fid import add_input_arguments, load_inputs

NAME = "kid"
HELP = "KID (mean ± sd over subsets) between two folders of images (or saved stats files)"
EPILOG = """examples:
  artistry kid real/ generated/
  artistry kid real/ generated/ --subsets 100 --subset-size 1000
  artistry kid stats/real.npz generated/ --protocol legacy

KID is the unbiased MMD² with the kernel (x.y/2048 + 1)^3, averaged over random subsets
(StyleGAN3 / clean-fid settings). It has no small-sample bias, so prefer it to FID for small
datasets. The ± is the standard deviation of the per-subset estimates.
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_input_arguments(p)
    p.add_argument("--subsets", type=int, default=100, help="number of random subsets [100]")
    p.add_argument("--subset-size", type=int, default=1000, help="images per subset, capped at the smaller side [1000]")
    p.add_argument("--seed", type=int, default=0, help="seed of the subset sampling [0]")


def run(args: argparse.Namespace) -> int:
    from ...errors import ConfigError
    from ...metrics.kid import kernel_inception_distance

    if args.subsets < 1 or args.subset_size < 2:
        raise ConfigError("--subsets must be at least 1 and --subset-size at least 2")
    a, b = load_inputs(args)
    mean, std = kernel_inception_distance(a.features, b.features, args.subsets, args.subset_size, args.seed)
    size = min(args.subset_size, a.n, b.n)
    print(f"protocol {args.protocol}; {a.n} vs {b.n} images; {args.subsets} subsets of {size}", file=sys.stderr)
    print(f"KID {mean:.6f} ± {std:.6f}")
    return 0
