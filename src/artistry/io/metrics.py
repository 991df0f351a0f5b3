"""metrics.jsonl: one JSON record a line, appended whole, read back skipping torn lines.

A crash or a full disk can leave the last line cut short. The writer makes that unlikely (one
os.write of the complete line, rolled back if the write came up short) and starts on a fresh line
after a torn tail; every reader goes through `read_records`, which skips such lines with a
warning instead of failing at every later sample grid, also after resume.
"""

from __future__ import annotations

import errno
import json
import os
import sys
from pathlib import Path
from typing import Any

METRICS_FILE = "metrics.jsonl"
_warned: set[tuple[str, int]] = set()  # (path, bad lines) already reported in this process


def append_record(path: str | os.PathLike, record: dict[str, Any]) -> None:
    """Append `record` as one line with a single write; a short write is undone.

    Raises OSError (e.g. ENOSPC) with the file named; the file is then as it was before.
    """
    line = (json.dumps(record) + "\n").encode("utf-8")
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        start = os.fstat(fd).st_size
        if start:
            os.lseek(fd, start - 1, os.SEEK_SET)  # (os.pread is missing on Windows)
            if os.read(fd, 1) != b"\n":  # a torn line left by a crash: keep it apart
                line = b"\n" + line
        try:
            written = os.write(fd, line)
        except OSError as e:
            _truncate_quietly(fd, start)
            raise OSError(e.errno, e.strerror, str(path)) from None
        if written != len(line):  # only part of it fit: take the fragment back
            _truncate_quietly(fd, start)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
    finally:
        os.close(fd)


def _truncate_quietly(fd: int, size: int) -> None:
    try:
        os.ftruncate(fd, size)
    except OSError:
        pass


def read_records(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Every whole record in a metrics.jsonl file ([] when it does not exist).

    Lines that are not a complete JSON object (cut short by a crash or a full disk) are skipped,
    with one warning on stderr naming the file and the lines.
    """
    path = Path(path)
    if not path.is_file():
        return []
    records, bad = [], []
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record = None
        if isinstance(record, dict):
            records.append(record)
        else:
            bad.append(number)
    if bad and (str(path), len(bad)) not in _warned:
        _warned.add((str(path), len(bad)))
        where = ", ".join(map(str, bad[:5])) + (" ..." if len(bad) > 5 else "")
        print(
            f"warning: {path}: skipped {len(bad)} incomplete line(s) (line {where}), "
            "probably cut short by a crash or a full disk",
            file=sys.stderr,
        )
    return records
