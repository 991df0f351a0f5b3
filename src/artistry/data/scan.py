"""Find the images in a dataset folder: recursive, hidden files ignored, labels from subfolders.

The scan only lists and filters (by extension and size); whether a file really decodes is
found out later, while loading, so a folder of 100k images is scanned in a moment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from artistry.errors import DataError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif")
# Notes and metadata that live beside images (credits, label lists, Thumbs.db): ignored silently.
# Any other extension (.heic, .psd, .svg, ...) is reported as skipped, so users learn why.
QUIET_EXTENSIONS = (".md", ".txt", ".csv", ".tsv", ".json", ".yaml", ".yml", ".xml", ".ini", ".db", ".log", ".html")

# Skip reasons are short fixed phrases so that reports can group by them; specifics go in detail.
REASON_EMPTY = "empty file"
REASON_NOT_IMAGE_TYPE = "unsupported file type"
REASON_UNREADABLE = "unreadable file"


@dataclass(frozen=True)
class ImageFile:
    """One candidate image: its path, its path relative to the root (posix), its label index."""

    path: Path
    rel: str
    label: int


@dataclass(frozen=True)
class Skipped:
    """A file that is not used, with a short reason (for grouping) and optional detail."""

    rel: str
    reason: str
    detail: str = ""


@dataclass
class ScanResult:
    """What a scan found. Label i is named label_names[i]; "" means "directly in the root"."""

    root: Path
    items: list[ImageFile]
    skipped: list[Skipped] = field(default_factory=list)
    label_names: list[str] = field(default_factory=list)


def scan_folder(root: str | os.PathLike, *, min_images: int = 8) -> ScanResult:
    """List the candidate images under root, recursively, in a stable (sorted) order.

    Hidden files and folders (".name") and notes such as .txt/.csv/.md are ignored silently;
    empty files and other extensions are listed in `skipped` with a reason.

    Args:
        root: the dataset folder. Each top-level subfolder is a label; files directly in root
            get the label "".
        min_images: fewer candidates than this is a DataError (decoding cannot add any).

    Returns:
        ScanResult with items sorted by relative path and the files skipped with reasons.

    Raises:
        DataError: root is missing, not a folder, or holds fewer than min_images candidates.
    """
    root = Path(root).expanduser()
    if not root.exists():
        raise DataError(f"Dataset folder '{root}' does not exist.")
    if not root.is_dir():
        raise DataError(f"Dataset path '{root}' is not a folder.")

    found: list[tuple[str, Path]] = []
    skipped: list[Skipped] = []
    for rel, path in _walk_visible_files(root):
        suffix = path.suffix.lower()
        if suffix in QUIET_EXTENSIONS:
            continue
        if suffix not in IMAGE_EXTENSIONS:
            skipped.append(Skipped(rel, REASON_NOT_IMAGE_TYPE, path.suffix or "no extension"))
            continue
        try:
            size = path.stat().st_size
        except OSError as error:  # e.g. a dangling symlink
            skipped.append(Skipped(rel, REASON_UNREADABLE, str(error)))
            continue
        if size == 0:
            skipped.append(Skipped(rel, REASON_EMPTY))
        else:
            found.append((rel, path))
    found.sort()

    label_names = sorted({_label_of(rel) for rel, _ in found})
    label_index = {name: i for i, name in enumerate(label_names)}
    items = [ImageFile(path, rel, label_index[_label_of(rel)]) for rel, path in found]
    result = ScanResult(root=root, items=items, skipped=skipped, label_names=label_names)

    if len(items) < min_images:
        raise DataError(too_few_images_message(root, len(items), min_images, skipped))
    return result


def too_few_images_message(root: Path, usable: int, min_images: int, skipped: list[Skipped]) -> str:
    """One sentence saying how many images were usable and why the others were skipped."""
    if usable == 0 and not skipped:
        return f"Dataset folder '{root}' has no images (looked recursively for {', '.join(IMAGE_EXTENSIONS)})."
    message = f"Dataset folder '{root}' has {usable} usable image(s), at least {min_images} are needed"
    if skipped:
        message += f"; skipped {len(skipped)} file(s): {summarize_skipped(skipped)}"
    return message + "."


def summarize_skipped(skipped: list[Skipped], examples: int = 2) -> str:
    """'3 corrupt or truncated image (a.jpg, b.jpg, ...), 1 empty file (c.png)' — by reason."""
    by_reason: dict[str, list[str]] = {}
    for item in skipped:
        by_reason.setdefault(item.reason, []).append(item.rel)
    parts = []
    for reason, rels in sorted(by_reason.items(), key=lambda kv: -len(kv[1])):
        shown = ", ".join(rels[:examples]) + (", ..." if len(rels) > examples else "")
        parts.append(f"{len(rels)} {reason} ({shown})")
    return ", ".join(parts)


def _walk_visible_files(root: Path):
    """Yield (relative posix path, path) for every non-hidden file, sorted, not following links
    to folders (a link loop must not hang the scan)."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = Path(dirpath) / name
            yield path.relative_to(root).as_posix(), path


def _label_of(rel: str) -> str:
    parts = rel.split("/")
    return parts[0] if len(parts) > 1 else ""
