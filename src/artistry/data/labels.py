"""The labels a class-conditional run trains on: top-level subfolders or a CSV, rare ones merged.

The prepared dataset already carries a label per image (its top-level subfolder). A CSV given
with --labels replaces them: its `file` column names each image relative to the dataset folder
(as the cache's manifest lists them), --label-column holds the label. Every image must have a
row: a file left out is refused rather than skipped, because a silently smaller (or silently
re-labelled) training set is the harder mistake to notice. Labels with fewer than
--min-label-images images are merged into "other".
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DataError

OTHER = "other"
SHOWN = 5  # files or labels named in one message


@dataclass(frozen=True)
class ResolvedLabels:
    labels: np.ndarray  # int64 [N], index into names, in the dataset's image order
    names: list[str]  # sorted, "other" last when present
    counts: list[int]  # images per name

    def frequencies(self) -> np.ndarray:
        """Share of the images per label, float64 [K]."""
        counts = np.asarray(self.counts, dtype=np.float64)
        return counts / counts.sum()


def resolve_labels(
    files: list[str],
    folder_labels: list[str],
    *,
    csv_path: str | None = None,
    column: str = "label",
    min_images: int = 20,
    skipped: tuple[str, ...] = (),
) -> ResolvedLabels:
    """Per-image label indices and names for a conditional run.

    Args:
        files: each image's path relative to the dataset folder (the cache manifest's `files`).
        folder_labels: each image's top-level subfolder ("" for files directly in the folder,
            which count as "other").
        csv_path: a CSV that gives the labels instead (--labels).
        column: its label column (--label-column).
        min_images: labels with fewer images become "other" (--min-label-images).
        skipped: files the dataset skipped (unreadable...); a CSV may list them.
    """
    raw = _from_csv(Path(csv_path), column, files, skipped) if csv_path else [x or OTHER for x in folder_labels]
    return _merge_rare(raw, min_images)


def _merge_rare(raw: list[str], min_images: int) -> ResolvedLabels:
    counts = Counter(raw)
    rare = sorted(name for name, n in counts.items() if n < min_images and name != OTHER)
    merged = [OTHER if name in rare else name for name in raw]
    counts = Counter(merged)
    if 0 < counts.get(OTHER, 0) < min_images:
        parts = ", ".join(f"{n} ({Counter(raw)[n]})" for n in rare[:SHOWN]) or OTHER
        raise ConfigError(
            f"--min-label-images {min_images}: labels with fewer images are merged into '{OTHER}', but "
            f"'{OTHER}' then has only {counts[OTHER]} images ({parts}); add images, or lower --min-label-images"
        )
    names = sorted(n for n in counts if n != OTHER) + ([OTHER] if OTHER in counts else [])
    if len(names) < 2:
        found = ", ".join(f"{n} ({c})" for n, c in Counter(raw).most_common(SHOWN))
        raise ConfigError(
            f"--conditional needs at least 2 labels with {min_images}+ images each (--min-label-images), "
            f"found {found}; lower --min-label-images, or give more labels (subfolders or --labels FILE.csv)"
        )
    index = {n: i for i, n in enumerate(names)}
    labels = np.array([index[n] for n in merged], dtype=np.int64)  # [N]
    return ResolvedLabels(labels, names, [counts[n] for n in names])


def _normalise(rel: str) -> str:
    rel = rel.strip().replace("\\", "/")
    while rel.startswith("./"):
        rel = rel[2:]
    return rel


def _from_csv(path: Path, column: str, files: list[str], skipped: tuple[str, ...]) -> list[str]:
    """Each file's label from the CSV, in the order of `files`."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            header = list(reader.fieldnames or [])
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"--labels: cannot read '{path}' ({e})") from None
    columns = ", ".join(header) or "(none)"
    if "file" not in header:
        raise DataError(f"--labels: '{path}' has no 'file' column (its columns: {columns})")
    if column not in header:
        raise ConfigError(f"--label-column: '{column}' is not a column of '{path}' (its columns: {columns})")
    by_file: dict[str, str] = {}
    for line, row in enumerate(rows, start=2):
        rel, label = _normalise(row.get("file") or ""), (row.get(column) or "").strip()
        if not rel:
            continue
        if rel in by_file and by_file[rel] != label:
            raise DataError(
                f"--labels: '{path}' line {line} gives '{rel}' a second label ('{by_file[rel]}', '{label}')"
            )
        by_file[rel] = label
    known = set(files) | set(skipped)
    unknown = [rel for rel in by_file if rel not in known]
    if unknown:
        raise DataError(
            f"--labels: {len(unknown)} file(s) in '{path}' are not in the dataset folder, e.g. "
            f"{', '.join(unknown[:SHOWN])} (paths must be relative to the folder)"
        )
    missing = [rel for rel in files if rel not in by_file]
    if missing:
        raise DataError(
            f"--labels: {len(missing)} image(s) of the dataset have no row in '{path}', e.g. "
            f"{', '.join(missing[:SHOWN])}; add them or move them out of the folder"
        )
    empty = [rel for rel in files if not by_file[rel]]
    if empty:
        raise DataError(
            f"--labels: {len(empty)} image(s) have an empty '{column}' in '{path}', e.g. {', '.join(empty[:SHOWN])}"
        )
    return [by_file[rel] for rel in files]
