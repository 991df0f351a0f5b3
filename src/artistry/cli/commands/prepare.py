"""`artistry prepare`: decode and cache an image folder (train does this too, implicitly)."""

from __future__ import annotations

import argparse
import sys
import time

NAME = "prepare"
HELP = "decode a folder of images into the dataset cache and report what was found"
DESCRIPTION = """Scan DIR recursively (jpg, jpeg, png, webp, bmp, tiff, gif), fix EXIF rotation, put
transparency on white, make every image a SIZE x SIZE square and cache the result, so that
`artistry train` starts at once. Top-level subfolders of DIR become labels. Broken files are
skipped and listed; running it again on an unchanged folder reuses the cache."""
EPILOG = """examples:
  artistry prepare data/demo                       # 64 px, centre crop, RGB
  artistry prepare ~/art --size 128 --fit pad      # keep whole pictures, letterboxed on white
  artistry prepare ~/sketches --channels 1 --fit stretch
  artistry prepare ~/art --cache-dir /tmp/artistry-cache --min-images 50
"""
SHOWN_EXAMPLES = 3  # files listed per skip reason


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the flags of `artistry prepare` to its parser."""
    parser.epilog = parser.epilog or EPILOG
    parser.add_argument("dir", metavar="DIR", help="folder of images (searched recursively; subfolders are labels)")
    parser.add_argument(
        "--size", type=int, default=64, help="side of the square images in pixels, 8..1024 (default 64)"
    )
    parser.add_argument(
        "--fit",
        choices=("crop", "pad", "stretch"),
        default="crop",
        help="how non-square images become square: crop (centre), pad (white), stretch (default crop)",
    )
    parser.add_argument(
        "--channels", type=int, choices=(1, 3), default=3, help="3 for colour, 1 for greyscale (default 3)"
    )
    parser.add_argument(
        "--cache-dir",
        default=None,
        help="where prepared datasets are cached (default $ARTISTRY_CACHE or ~/.cache/artistry)",
    )
    parser.add_argument(
        "--min-images", type=int, default=8, help="refuse datasets with fewer usable images than this (default 8)"
    )


def run(args: argparse.Namespace) -> int:
    """Prepare the dataset and print a short report. User errors raise ArtistryError subclasses."""
    from ...data.cache import prepare_dataset

    dataset = prepare_dataset(
        args.dir,
        size=args.size,
        fit=args.fit,
        channels=args.channels,
        cache_dir=args.cache_dir,
        min_images=args.min_images,
        progress=_ProgressLine() if sys.stderr.isatty() else None,
    )
    print(format_report(dataset.manifest, dataset.path, dataset.reused))
    return 0


def format_report(manifest: dict, cache_path, reused: bool) -> str:
    """The human summary of a prepared dataset: counts, labels, skipped files, warnings, cache."""
    options = manifest["options"]
    colour = "RGB" if options["channels"] == 3 else "greyscale"
    lines = [
        f"{manifest['count']} images, {options['size']}x{options['size']} {colour}, fit={options['fit']}, "
        f"from {manifest['source']}"
    ]

    names, counts = manifest["labels"]["names"], manifest["labels"]["counts"]
    if names != [""]:
        shown = ", ".join(f"{name or '(top folder)'} {count}" for name, count in zip(names, counts))
        lines.append(f"labels ({len(names)}): {shown}")

    skipped = manifest["skipped"]
    if skipped:
        lines.append(f"skipped {len(skipped)} file(s):")
        for reason, count in manifest["skipped_by_reason"].items():
            files = [s["file"] for s in skipped if s["reason"] == reason]
            more = f", ... ({count - SHOWN_EXAMPLES} more)" if count > SHOWN_EXAMPLES else ""
            lines.append(f"  {count} {reason}: {', '.join(files[:SHOWN_EXAMPLES])}{more}")

    upscaled = manifest["warnings"]
    if upscaled:
        first = ", ".join(w["file"] for w in upscaled[:SHOWN_EXAMPLES])
        lines.append(
            f"warning: {len(upscaled)} image(s) smaller than {options['size']}px were upscaled "
            f"(they will look blurry): {first}{', ...' if len(upscaled) > SHOWN_EXAMPLES else ''}"
        )

    lines.append(f"cache: {cache_path} ({'reused, nothing decoded' if reused else 'built'})")
    return "\n".join(lines)


class _ProgressLine:
    """Rewrites one stderr line at most a few times a second while decoding."""

    def __init__(self, interval_s: float = 0.25):
        self.interval_s = interval_s
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done == total or now - self.last >= self.interval_s:
            self.last = now
            end = "\n" if done == total else ""
            print(f"\rdecoding {done}/{total} images", end=end, file=sys.stderr, flush=True)
