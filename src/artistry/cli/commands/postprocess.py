"""`artistry postprocess`: clean a folder of images (denoise, black-and-white, contours, upscale)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "postprocess"
HELP = "clean up images: denoise with a DAE run, force black and white, tidy contours, upscale"
EPILOG = """examples:
  artistry postprocess gen/ --out clean/ --bw                          # Otsu threshold per image
  artistry postprocess gen/ --out clean/ --bw --threshold 0.5 --contour
  artistry postprocess gen/ --out clean/ --denoise runs/00004-dae --bw --contour --upscale 2
  artistry generate runs/00002-gan --n 16 --out gen/ --denoise runs/00004-dae --bw   # same flags

Steps run in the order given (--upscale 2 --contour tidies at the larger size). Images keep
their channels (greyscale stays greyscale) and their relative paths, saved as PNG.
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ...postprocess import add_postprocess_arguments

    p.add_argument("input", metavar="IN_DIR", help="folder of images (searched recursively), or one image")
    p.add_argument("--out", required=True, metavar="OUT_DIR", help="folder for the results (created)")
    p.add_argument("--device", default="cpu", help="where --denoise runs: cpu, cuda or auto [cpu]")
    add_postprocess_arguments(p)


def read_image(path: Path):
    """Any image file -> uint8 [C, H, W]: greyscale files stay 1 channel, transparency -> white."""
    import numpy as np
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        im.load()
        im = ImageOps.exif_transpose(im)
        if im.mode in ("L", "1", "I", "I;16", "F") or (im.mode == "P" and im.palette.mode == "L"):
            im = im.convert("L")
        elif im.mode in ("LA", "La"):
            bg = Image.new("L", im.size, 255)
            bg.paste(im.convert("L"), mask=im.getchannel("A"))
            im = bg
        else:
            rgba = im.convert("RGBA")
            bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
            im = Image.alpha_composite(bg, rgba).convert("RGB")
        a = np.asarray(im, dtype=np.uint8)
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1).copy()


def run(args: argparse.Namespace) -> int:
    from ...data.scan import IMAGE_EXTENSIONS
    from ...errors import ConfigError, DataError
    from ...io.images import save_png
    from ...postprocess import Pipeline

    pipeline = Pipeline.from_args(args)  # checks every flag and loads --denoise runs first
    if not pipeline:
        raise ConfigError("give at least one step: --denoise RUN, --bw, --contour or --upscale F")
    src = Path(args.input)
    if not src.exists():
        raise DataError(f"IN_DIR: {src} does not exist")
    if src.is_file():
        files, root = [src], src.parent
    else:
        files = sorted(p for p in src.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
        root = src
    if not files:
        raise DataError(f"IN_DIR: no images in {src} (looked for {', '.join(sorted(IMAGE_EXTENSIONS))})")
    out = Path(args.out)
    if out.resolve() == root.resolve():
        raise ConfigError("--out: must differ from IN_DIR (the originals would be overwritten)")
    done = skipped = 0
    for path in files:
        try:
            image = read_image(path)
        except Exception as e:  # noqa: BLE001 - one bad file must not stop the folder
            print(f"skipping {path}: {type(e).__name__}: {e}", file=sys.stderr)
            skipped += 1
            continue
        save_png(pipeline(image), (out / path.relative_to(root)).with_suffix(".png"))
        done += 1
    print(
        f"{pipeline.describe()}: wrote {done} images to {out}" + (f" ({skipped} skipped)" if skipped else ""),
        file=sys.stderr,
    )
    return 0
