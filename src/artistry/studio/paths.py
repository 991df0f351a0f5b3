"""Safe file access: a request path may only name a file inside one of the allowed roots."""

from __future__ import annotations

import os
from pathlib import Path


class Refused(Exception):
    """A path that must not be served. `status` is the HTTP code to answer with."""

    def __init__(self, status: int, why: str):
        super().__init__(why)
        self.status = status


def inside(root: Path, rel: str) -> Path:
    """The real path of `rel` under `root`, or Refused.

    `rel` is the already URL-decoded path from the request. Refused(404) for anything that is
    not a plain relative path (absolute, `..`, `.`, hidden names, backslashes, NUL, leftover
    percent-encoding from double-encoded tricks); Refused(403) when symlinks lead outside the root.
    """
    rel = rel or ""
    if "\x00" in rel or "\\" in rel or "%" in rel or rel.startswith("/") or os.path.isabs(rel):
        raise Refused(404, "not a relative path")
    parts = [p for p in rel.split("/") if p != ""]
    if any(p in (".", "..") or p.startswith(".") for p in parts):
        raise Refused(404, "not a plain path")
    root_real = os.path.realpath(root)
    real = os.path.realpath(os.path.join(root_real, *parts)) if parts else root_real
    if real != root_real and not real.startswith(root_real + os.sep):
        raise Refused(403, "outside the allowed folder")
    return Path(real)


def existing_file(root: Path, rel: str) -> Path:
    path = inside(root, rel)
    if not path.is_file():
        raise Refused(404, "no such file")
    return path
