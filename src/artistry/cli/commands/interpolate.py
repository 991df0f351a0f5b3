"""`artistry interpolate`: a looping latent walk through several seeds, as a GIF."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "interpolate"
HELP = "walk smoothly through the latent space (GIF or PNG frames)"
EPILOG = """examples:
  artistry interpolate runs/00000-demo --frames 48 --out walk.gif       # seeds 0,1,2,3
  artistry interpolate runs/00000-demo --seeds 3,14,15,92 --frames 96 --out walk.gif
  artistry interpolate runs/00000-demo --frames 24 --out frames/         # PNG per frame
  artistry interpolate runs/00001-vae --between a.png b.png --out ab.gif   # VAE runs only
  artistry interpolate runs/00002-styles --labels Baroque,Impressionism --frames 48 --out morph.gif
  artistry interpolate runs/00002-styles --labels Realism,Impressionism,Ukiyo-e --seed 7 --out morph.gif
  artistry interpolate runs/00002-styles --label Impressionism --frames 48 --out walk.gif

The walk is spherical (slerp) from seed to seed and loops back to the first. With --between,
a VAE run encodes the images (prepared like its dataset: size, fit, channels) and walks in
straight lines (lerp) between their latent codes, and back; a conditional VAE encodes and
decodes them with one label (--label, else the most frequent).

With --labels (runs trained with --conditional), the noise stays fixed (seed SEED) and the class
weights move in straight lines from the first label to the last, through any in between: the
painting changes style, not subject. Each item may be a blend such as 0.5*Realism+0.5*Baroque.
With --label, a seed walk keeps one label (or blend) throughout; on a conditional run without
it, the walk keeps the most frequent training label.
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", metavar="RUN", help="run directory made by `artistry train`")
    p.add_argument("--frames", type=int, default=48, help="frames in the whole loop [48]")
    p.add_argument("--seeds", default=None, help="comma-separated key seeds [SEED..SEED+3]")
    p.add_argument("--seed", type=int, default=0, help="first key seed when --seeds is not given [0]")
    p.add_argument("--out", required=True, help="a .gif file, or a folder for PNG frames")
    p.add_argument(
        "--between",
        nargs="+",
        metavar="IMAGE",
        default=None,
        help="walk between these images' latent codes instead of seeds (vae runs)",
    )
    p.add_argument(
        "--labels",
        metavar="A,B[,C...]",
        default=None,
        help="conditional runs: keep the noise (--seed) and move the class from label A to B (to C ...)",
    )
    p.add_argument(
        "--label",
        metavar="SPEC",
        default=None,
        help="conditional runs: the label (or blend like '0.5*A+0.5*B') a seed or image walk keeps",
    )
    p.add_argument("--fps", type=int, default=12, help="GIF frames per second [12]")
    p.add_argument(
        "--checkpoint",
        default="auto",
        help="auto (best if the run kept one, else last), last, best or a step number [auto]",
    )
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto [cpu]")


def parse_seeds(text: str | None, first: int) -> list[int]:
    from ...errors import ConfigError

    if text is None:
        return [first + i for i in range(4)]
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise ConfigError(f"--seeds: expected comma-separated integers, got '{text}'") from None
    if len(seeds) < 2:
        raise ConfigError("--seeds: give at least two seeds")
    return seeds


def run(args: argparse.Namespace) -> int:
    from ... import api
    from ...errors import ConfigError
    from ...io.images import save_gif, save_png
    from ...latent import lerp, loop_path

    if not 2 <= args.frames <= 10000:
        raise ConfigError("--frames must be between 2 and 10000")
    if not 1 <= args.fps <= 60:
        raise ConfigError("--fps must be between 1 and 60")
    _check_modes(args)
    loaded = api.load(args.run, checkpoint=args.checkpoint, device=args.device)
    walk_label, named = _walk_label(loaded, args)  # one label for a seed or image walk (None: unconditional)
    labels = None
    if args.between is not None:
        images = _load_images(loaded, args.between)
        keys = loaded.encode(images, labels=_repeat(walk_label, len(images))).cpu()
        path = loop_path(keys, args.frames, interp=lerp)
        through = f"images {', '.join(Path(p).name for p in args.between)}"
    elif args.labels is not None:
        path, labels = label_morph(loaded, args.labels, args.seed, args.frames)
        through = f"labels {args.labels} (seed {args.seed})"
    else:
        seeds = parse_seeds(args.seeds, args.seed)
        path = loop_path(loaded.latents(seeds).cpu(), args.frames)
        through = f"seeds {seeds}"
    if labels is None and walk_label is not None:  # the same label in every frame, not a new one per frame
        labels = _repeat(walk_label, len(path))
        through += f" with label {named}"
    frames = loaded.images_from_latents(path, labels=labels)  # [F, C, H, W]
    out = Path(args.out)
    if out.suffix.lower() == ".gif":
        out.parent.mkdir(parents=True, exist_ok=True)
        save_gif(list(frames), out, fps=args.fps)
    else:
        out.mkdir(parents=True, exist_ok=True)
        for i, f in enumerate(frames):
            save_png(f, out / f"frame{i:05d}.png")
    print(f"wrote {len(frames)} frames through {through} to {out}", file=sys.stderr)
    return 0


def _walk_label(loaded, args):
    """(class weights [1, K], its name) that a seed or image walk keeps: --label, else the most
    frequent training label; (None, "") for an unconditional run or a --labels morph."""
    import torch

    if args.labels is not None:
        return None, ""
    if args.label is not None:
        from .generate import label_weights_for

        return label_weights_for(loaded, args.label, 1), args.label
    if not loaded.num_classes:
        return None, ""
    top = int(loaded.label_frequencies.argmax())
    one_hot = torch.zeros(1, loaded.num_classes)
    one_hot[0, top] = 1.0
    return one_hot, f"{loaded.label_names[top]} (the most frequent; choose one with --label)"


def _repeat(weights, n: int):
    return None if weights is None else weights.expand(n, -1).clone()


def _check_modes(args) -> None:
    """--seeds, --between and --labels are three different walks; --label goes with seeds and images."""
    from ...errors import ConfigError

    walks = (("--seeds", args.seeds), ("--between", args.between), ("--labels", args.labels))
    given = [flag for flag, value in walks if value is not None]
    if len(given) > 1:
        raise ConfigError(f"give only one of --seeds, --between and --labels (got {' and '.join(given)})")
    if args.label is not None and args.labels is not None:
        raise ConfigError("--label sets the label of a seed or image walk; with --labels leave it out")
    if args.between is not None and len(args.between) < 2:
        raise ConfigError("--between: give at least two images")


def label_morph(loaded, text: str, seed: int, frames: int):
    """One latent (from `seed`) repeated for every frame, and class weights moving through the labels.

    Returns:
        (latents [frames, nz], class weights float [frames, K]).
    """
    from ...errors import ConfigError
    from ...label_spec import label_path, parse_label_list

    if not loaded.num_classes:
        raise ConfigError(
            f"--labels: {loaded.run_dir} was trained without --conditional, so it has no labels to move between"
        )
    names = list(loaded.label_names)
    keys = parse_label_list(text, names)
    z = loaded.latents([seed]).cpu()  # [1, nz]
    return z.expand(frames, *z.shape[1:]).clone(), label_path(keys, len(names), frames)


def _load_images(loaded, paths):
    """Image files prepared like the run's dataset -> uint8 [N, C, S, S]."""
    import numpy as np

    from ...data.images import ImageSkip, load_image
    from ...errors import ConfigError, DataError

    if not hasattr(loaded.model, "encode"):
        raise ConfigError(
            f"--between: {loaded.run_dir} is a '{loaded.config.model.model}' run, which "
            "cannot encode images; train with --model vae"
        )
    d = loaded.config.data
    out = []
    for p in paths:
        if not Path(p).is_file():
            raise DataError(f"--between: {p} does not exist")
        try:
            out.append(load_image(p, d.size, d.fit, d.channels))
        except ImageSkip as e:
            raise DataError(f"--between: {p}: {e}") from None
    return np.stack(out)
