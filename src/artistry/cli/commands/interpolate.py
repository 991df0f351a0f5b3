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

The walk is spherical (slerp) from seed to seed and loops back to the first. With --between,
a VAE run encodes the images (prepared like its dataset: size, fit, channels) and walks in
straight lines (lerp) between their latent codes, and back.
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
    if args.between is not None:
        if args.seeds is not None:
            raise ConfigError("give either --seeds or --between, not both")
        if len(args.between) < 2:
            raise ConfigError("--between: give at least two images")
        loaded = api.load(args.run, checkpoint=args.checkpoint, device=args.device)
        keys = loaded.encode(_load_images(loaded, args.between)).cpu()
        path = loop_path(keys, args.frames, interp=lerp)
        through = f"images {', '.join(Path(p).name for p in args.between)}"
    else:
        seeds = parse_seeds(args.seeds, args.seed)
        loaded = api.load(args.run, checkpoint=args.checkpoint, device=args.device)
        path = loop_path(loaded.latents(seeds).cpu(), args.frames)
        through = f"seeds {seeds}"
    frames = loaded.images_from_latents(path)  # [F, C, H, W]
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
