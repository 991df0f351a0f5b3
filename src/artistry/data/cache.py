"""Prepare a dataset folder once into a uint8 cache [N, C, H, W] and reuse it on later runs.

The cache key is a hash of every file's content and relative path plus the options (size, fit,
channels, format version), so any change to the images or options builds a new cache, and an
unchanged folder is never decoded twice. A cache is built in a temp folder and moved into place
with os.replace, so an interrupted prepare leaves nothing half-written; a cache that fails its
checks anyway (deleted or truncated files) is rebuilt.

Layout: <cache root>/datasets/<size>px-<fit>-<rgb|grey>-<key[:16]>/
    images.npy     uint8 [N, C, H, W], opened as a read-only memory map
    labels.npy     int64 [N], index into manifest["labels"]["names"]
    manifest.json  options, key, source, counts, labels, files, skipped files, warnings
"""

from __future__ import annotations

import errno
import hashlib
import json
import numbers
import os
import shutil
import tempfile
import time
import uuid
import warnings
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from PIL import Image

from artistry.data.images import CHANNELS, FITS, DecodedImage, ImageSkip, decode_image
from artistry.data.scan import ImageFile, ScanResult, Skipped, scan_folder, too_few_images_message
from artistry.errors import ConfigError, DataError

FORMAT_VERSION = 1  # bump when the cache layout or the decoding changes: old caches are then rebuilt
MIN_SIZE, MAX_SIZE = 8, 1024
DECODE_WORKERS = 2  # Pillow releases the GIL while decoding and resizing
STALE_TEMP_SECONDS = 24 * 3600  # temp folders older than this were left by a killed prepare

Progress = Callable[[int, int], None]  # (images decoded so far, total)


@dataclass
class PreparedDataset:
    """A prepared dataset: pixels, labels and the manifest describing them."""

    images: np.ndarray  # [N, C, H, W] uint8, read-only memory map
    labels: np.ndarray  # [N] int64, index into label_names
    label_names: list[str]
    files: list[str]  # relative path of each image, in the order of `images`
    manifest: dict
    key: str
    path: Path  # the cache folder of this dataset
    reused: bool = False  # True when an existing cache was used (nothing decoded)

    def __len__(self) -> int:
        return len(self.images)


def default_cache_dir() -> Path:
    """The cache root: $ARTISTRY_CACHE, else ~/.cache/artistry."""
    return Path(os.environ.get("ARTISTRY_CACHE") or Path.home() / ".cache" / "artistry").expanduser()


def check_options(size: int, fit: str, channels: int, min_images: int = 8) -> None:
    """Validate prepare options before any work; ConfigError names the flag and allowed values."""
    if isinstance(size, bool) or not isinstance(size, numbers.Integral) or not MIN_SIZE <= size <= MAX_SIZE:
        raise ConfigError(f"--size must be a whole number of pixels from {MIN_SIZE} to {MAX_SIZE}, got {size!r}.")
    if fit not in FITS:
        raise ConfigError(f"--fit must be one of {', '.join(FITS)}, got {fit!r}.")
    if isinstance(channels, bool) or channels not in CHANNELS:
        raise ConfigError(f"--channels must be 1 (greyscale) or 3 (RGB), got {channels!r}.")
    if isinstance(min_images, bool) or not isinstance(min_images, numbers.Integral) or min_images < 1:
        raise ConfigError(f"--min-images must be a whole number of at least 1, got {min_images!r}.")


def prepare_dataset(
    folder: str | os.PathLike,
    *,
    size: int = 64,
    fit: str = "crop",
    channels: int = 3,
    cache_dir: str | os.PathLike | None = None,
    min_images: int = 8,
    progress: Progress | None = None,
) -> PreparedDataset:
    """Scan, decode and cache an image folder, or reuse the cache if nothing changed.

    Args:
        folder: the dataset folder (searched recursively; top-level subfolders are labels).
        size: side of the square images in pixels (8..1024).
        fit: "crop" (centre square), "pad" (letterbox on white) or "stretch" (ignore aspect).
        channels: 1 (greyscale) or 3 (RGB).
        cache_dir: cache root; default default_cache_dir().
        min_images: fewer usable images than this is a DataError.
        progress: called as progress(done, total) while decoding.

    Returns:
        PreparedDataset whose images are a read-only memory map.

    Raises:
        ConfigError: an option is invalid (the message names the flag).
        DataError: the folder is missing or has too few usable images (the message says why).
    """
    check_options(size, fit, channels, min_images)
    options = {"size": int(size), "fit": fit, "channels": int(channels)}
    scan = scan_folder(folder, min_images=min_images)
    key = dataset_key(scan, options)
    cache_root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    _refuse_cache_inside_dataset(cache_root, scan.root)
    target = cache_root / "datasets" / _cache_folder_name(options, key)

    dataset = _open_if_valid(target, key)
    if dataset is None:
        _build_cache(scan, options, key, target, min_images, progress)
        dataset = load_prepared(target)
    else:
        dataset.reused = True
        dataset.manifest["source"] = str(scan.root.resolve())  # the same images may have moved
    if len(dataset) < min_images:  # a cache built earlier with a lower --min-images
        skipped = [Skipped(s["file"], s["reason"], s.get("detail", "")) for s in dataset.manifest["skipped"]]
        raise DataError(too_few_images_message(scan.root, len(dataset), min_images, skipped))
    return dataset


def load_prepared(cache_path: str | os.PathLike) -> PreparedDataset:
    """Open a prepared dataset folder (as written by prepare_dataset), checking it is complete.

    Args:
        cache_path: the dataset's cache folder (PreparedDataset.path).

    Raises:
        DataError: the folder is missing, incomplete or corrupt.
    """
    path = Path(cache_path)
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        images = np.load(path / "images.npy", mmap_mode="r")  # [N, C, H, W]
        labels = np.load(path / "labels.npy")  # [N]
        options, names = manifest["options"], manifest["labels"]["names"]
        expected = (manifest["count"], options["channels"], options["size"], options["size"])
        consistent = (
            manifest["format_version"] == FORMAT_VERSION
            and images.dtype == np.uint8
            and images.shape == expected
            and labels.dtype == np.int64
            and labels.shape == (expected[0],)
            and len(manifest["files"]) == expected[0]
            and (labels.size == 0 or 0 <= labels.min() <= labels.max() < len(names))
        )
    except (OSError, ValueError, KeyError, TypeError, EOFError) as error:
        raise DataError(f"Prepared dataset '{path}' is missing or corrupt ({error}).") from None
    if not consistent:
        raise DataError(f"Prepared dataset '{path}' is inconsistent with its manifest.json.")
    return PreparedDataset(
        images=images,
        labels=labels,
        label_names=list(names),
        files=list(manifest["files"]),
        manifest=manifest,
        key=manifest["key"],
        path=path,
    )


def _refuse_cache_inside_dataset(cache_root: Path, folder: Path) -> None:
    # Its files would be scanned as part of the dataset and change the key on every run.
    try:
        inside = cache_root.resolve().relative_to(folder.resolve())
    except ValueError:
        return
    if not any(part.startswith(".") for part in inside.parts):  # hidden folders are never scanned
        raise ConfigError(
            f"--cache-dir '{cache_root}' is inside the dataset folder '{folder}'; "
            f"use a folder outside it or a hidden one such as '{folder / '.cache'}'."
        )


def dataset_key(scan: ScanResult, options: dict) -> str:
    """Hash of the format version, options, each file's relative path and content, and the files
    the scan skipped (so the manifest's skip list is never stale)."""
    digest = hashlib.sha256()
    digest.update(json.dumps({"format_version": FORMAT_VERSION, **options}, sort_keys=True).encode())
    for item in scan.items:
        digest.update(b"\0file\0" + item.rel.encode() + b"\0" + _file_digest(item.path))
    for skipped in scan.skipped:
        digest.update(b"\0skipped\0" + skipped.rel.encode() + b"\0" + skipped.reason.encode())
    return digest.hexdigest()


def _file_digest(path: Path) -> bytes:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.digest()


def _cache_folder_name(options: dict, key: str) -> str:
    # Not named after the source folder: a renamed or moved folder of the same images reuses it.
    colour = "rgb" if options["channels"] == 3 else "grey"
    return f"{options['size']}px-{options['fit']}-{colour}-{key[:16]}"


def _open_if_valid(target: Path, key: str) -> PreparedDataset | None:
    if not target.is_dir():
        return None
    try:
        dataset = load_prepared(target)
    except DataError:
        return None  # broken: rebuilt by the caller
    return dataset if dataset.key == key else None


def _build_cache(
    scan: ScanResult, options: dict, key: str, target: Path, min_images: int, progress: Progress | None
) -> None:
    """Decode every candidate into a temp folder next to target, then move it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temp_folders(target.parent)
    temp = Path(tempfile.mkdtemp(prefix=f".tmp-{target.name}-", dir=target.parent))
    try:
        manifest = _decode_into(temp, scan, options, key, min_images, progress)
        (temp / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        _fsync_files(temp)
        _publish(temp, target, key)
    except OSError as e:
        if e.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        need = len(scan.items) * options["channels"] * options["size"] ** 2  # the pixel array
        raise DataError(
            f"Not enough disk space in the cache folder '{target.parent}' to prepare "
            f"'{scan.root}': the images need about {_human(need)} ({need} bytes). "
            "Free some space there, or choose another folder with --cache-dir "
            "(or $ARTISTRY_CACHE)."
        ) from None
    finally:
        shutil.rmtree(temp, ignore_errors=True)  # already gone once published


def _decode_into(
    folder: Path, scan: ScanResult, options: dict, key: str, min_images: int, progress: Progress | None
) -> dict:
    """Write images.npy and labels.npy into folder; return the manifest."""
    size, channels = options["size"], options["channels"]
    total = len(scan.items)
    images_path = folder / "images.npy"
    images = np.lib.format.open_memmap(
        images_path, mode="w+", dtype=np.uint8, shape=(total, channels, size, size)
    )  # [N, C, H, W]
    _reserve(images_path)
    kept: list[ImageFile] = []
    skipped = list(scan.skipped)
    upscaled: list[dict] = []
    with warnings.catch_warnings():
        # Pillow warns about huge images before load_image refuses them itself (MAX_PIXELS).
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        for done, (item, result) in enumerate(_decode_in_order(scan.items, options), start=1):
            if isinstance(result, ImageSkip):
                skipped.append(Skipped(item.rel, result.reason, result.detail))
            else:
                images[len(kept)] = result.pixels  # compacted: kept images fill the first rows
                kept.append(item)
                if result.upscaled:
                    width, height = result.original_size
                    upscaled.append({"file": item.rel, "warning": f"upscaled from {width}x{height} to {size}px"})
            if progress is not None:
                progress(done, total)
    images.flush()
    del images  # close the memory map before the file is shrunk or moved

    if len(kept) < min_images:
        raise DataError(too_few_images_message(scan.root, len(kept), min_images, skipped))
    if len(kept) < total:
        _shrink_npy(images_path, len(kept))

    # Only labels that kept at least one image; indices follow the sorted names.
    label_names = sorted({scan.label_names[item.label] for item in kept})
    index = {name: i for i, name in enumerate(label_names)}
    labels = np.array([index[scan.label_names[item.label]] for item in kept], dtype=np.int64)  # [N]
    np.save(folder / "labels.npy", labels)
    counts = np.bincount(labels, minlength=len(label_names))
    return {
        "format_version": FORMAT_VERSION,
        "key": key,
        "source": str(scan.root.resolve()),
        "options": options,
        "count": len(kept),
        "labels": {"names": label_names, "counts": [int(c) for c in counts]},
        "files": [item.rel for item in kept],
        "skipped": [{"file": s.rel, "reason": s.reason, "detail": s.detail} for s in skipped],
        "skipped_by_reason": dict(Counter(s.reason for s in skipped).most_common()),
        "warnings": upscaled,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _decode_in_order(items: list[ImageFile], options: dict) -> Iterator[tuple[ImageFile, DecodedImage | ImageSkip]]:
    """Decode on a small thread pool, yielding results in input order; at most a few images
    are in flight, so memory stays flat however large the folder."""

    def decode(item: ImageFile) -> DecodedImage | ImageSkip:
        try:
            return decode_image(item.path, options["size"], options["fit"], options["channels"])
        except ImageSkip as skip:
            return skip

    window = 4 * DECODE_WORKERS
    with ThreadPoolExecutor(DECODE_WORKERS) as pool:
        pending: deque = deque()
        for item in items:
            pending.append((item, pool.submit(decode, item)))
            if len(pending) >= window:
                done_item, future = pending.popleft()
                yield done_item, future.result()
        while pending:
            done_item, future = pending.popleft()
            yield done_item, future.result()


def _shrink_npy(path: Path, count: int) -> None:
    """Keep only the first `count` rows of an .npy file (the header stores the shape)."""
    full = np.load(path, mmap_mode="r")
    shrunk_path = path.with_name("images.shrunk.npy")
    shrunk = np.lib.format.open_memmap(shrunk_path, mode="w+", dtype=full.dtype, shape=(count, *full.shape[1:]))
    _reserve(shrunk_path)
    rows_per_chunk = max(1, (64 << 20) // max(1, full[0].nbytes))  # copy ~64 MB at a time
    for start in range(0, count, rows_per_chunk):
        shrunk[start : start + rows_per_chunk] = full[start : min(count, start + rows_per_chunk)]
    shrunk.flush()
    del shrunk, full
    os.replace(shrunk_path, path)


def _human(n: int) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n / 2**10:.0f} KiB"


def _reserve(path: Path) -> None:
    """Allocate a memory-mapped file's blocks now: on a full disk this raises ENOSPC here,
    instead of SIGBUS killing the process when a page of the map is written later."""
    if not hasattr(os, "posix_fallocate"):  # e.g. macOS: nothing to reserve with
        return
    with open(path, "r+b") as file:
        try:
            os.posix_fallocate(file.fileno(), 0, os.fstat(file.fileno()).st_size)
        except OSError as e:
            if e.errno in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):  # the file system cannot reserve
                return
            raise


def _fsync_files(folder: Path) -> None:
    for path in folder.iterdir():
        with open(path, "rb") as file:
            os.fsync(file.fileno())


def _publish(temp: Path, target: Path, key: str) -> None:
    """Move a finished cache into place, replacing a broken one found there."""
    if target.exists():
        trash = target.with_name(f".trash-{target.name}-{uuid.uuid4().hex[:8]}")
        try:
            os.replace(target, trash)
        except FileNotFoundError:
            pass
        else:
            shutil.rmtree(trash, ignore_errors=True)
    try:
        os.replace(temp, target)
    except OSError:
        # Another process preparing the same folder published first: use theirs if it is good.
        if _open_if_valid(target, key) is None:
            raise


def _remove_stale_temp_folders(datasets_root: Path) -> None:
    cutoff = time.time() - STALE_TEMP_SECONDS
    for leftover in list(datasets_root.glob(".tmp-*")) + list(datasets_root.glob(".trash-*")):
        try:
            if leftover.stat().st_mtime < cutoff:
                shutil.rmtree(leftover, ignore_errors=True)
        except OSError:
            pass
