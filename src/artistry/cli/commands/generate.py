"""`artistry generate`: images from a trained run, one PNG per seed."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "generate"
HELP = "make images with a trained run"
EPILOG = """examples:
  artistry generate runs/00000-demo --n 16 --out out/                # seeds 0..15
  artistry generate runs/00000-demo --n 64 --seed 7 --out out/ --grid
  artistry generate runs/00000-demo --n 8 --checkpoint best --out out/
  artistry generate runs/00000-demo --n 16 --out out/ --denoise runs/00001-dae --bw --contour
  artistry generate runs/00000-demo --n 16 --out out/ --bw --threshold 0.5 --upscale 2

  artistry generate runs/00001-styles --label Impressionism --n 16 --out out/      # a --conditional run
  artistry generate runs/00001-styles --label "0.5*Impressionism+0.5*Ukiyo-e" --n 16 --out out/

Image i is made from seed SEED+i, so the same seed always gives the same image (and, with
--label, the same seed under another label shows what the label changes). A blend mixes the
labels' class embeddings; its weights are normalised to sum to 1.
Post-processing steps (see `artistry postprocess --help`) run in the order given.
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ...postprocess import add_postprocess_arguments

    p.add_argument("run", metavar="RUN", help="run directory made by `artistry train`")
    p.add_argument("--n", type=int, default=16, help="how many images [16]")
    p.add_argument("--seed", type=int, default=0, help="first seed [0]")
    p.add_argument("--out", metavar="DIR", help="folder for the PNGs (created) [RUN/generated]")
    p.add_argument("--grid", action="store_true", help="also write grid.png with all images")
    p.add_argument(
        "--label",
        metavar="SPEC",
        default=None,
        help="runs trained with --conditional: a label name, or a blend like '0.5*Impressionism+0.5*Ukiyo-e'",
    )
    p.add_argument(
        "--checkpoint",
        default="auto",
        help="auto (best if the run kept one, else last), last, best or a step number [auto]",
    )
    p.add_argument("--batch", type=int, default=64, help="images per forward pass [64]")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto [cpu]")
    add_postprocess_arguments(p)


def run(args: argparse.Namespace) -> int:
    from ... import api
    from ...errors import ConfigError
    from ...io.images import make_grid, save_png
    from ...postprocess import Pipeline

    if args.n < 1:
        raise ConfigError("--n must be at least 1")
    if args.batch < 1:
        raise ConfigError("--batch must be at least 1")
    pipeline = Pipeline.from_args(args)  # checks the post-processing flags before generating
    loaded = api.load(args.run, checkpoint=args.checkpoint, device=args.device)
    labels = None if args.label is None else label_weights_for(loaded, args.label, args.n)  # [N, K]
    images = loaded.generate(args.n, seed=args.seed, batch_size=args.batch, labels=labels)  # [N, C, H, W]
    images = _postprocess(pipeline, images)
    out = Path(args.out) if args.out else loaded.run_dir / "generated"
    out.mkdir(parents=True, exist_ok=True)
    for i, img in enumerate(images):
        save_png(img, out / f"seed{args.seed + i:05d}.png")
    if args.grid:
        save_png(make_grid(images), out / "grid.png")
    print(
        f"wrote {len(images)} images to {out}"
        + (f" for label {args.label}" if args.label is not None else "")
        + (" (+ grid.png)" if args.grid else ""),
        file=sys.stderr,
    )
    return 0


def _postprocess(pipeline, images):
    """Apply the --denoise/--bw/--contour/--upscale steps (shared with `artistry postprocess`)."""
    return pipeline(images) if pipeline else images


def label_weights_for(loaded, spec: str, n: int, flag: str = "--label"):
    """Class weights [n, K] for a --label spec; a run trained without labels is a one-line error."""
    from ...errors import ConfigError
    from ...label_spec import label_weights

    if not loaded.num_classes:
        raise ConfigError(
            f"{flag}: {loaded.run_dir} was trained without --conditional, so it has no labels; "
            "train with --conditional to generate by label"
        )
    return label_weights(spec, list(loaded.label_names), n, flag=flag)
