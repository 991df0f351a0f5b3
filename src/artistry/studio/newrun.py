"""The New-run form: browsing data folders under the allowed roots, and turning the form into
`artistry train` arguments checked by the CLI's own parser (`--dry-run`, in this process)."""

from __future__ import annotations

import contextlib
import io
import os
import shlex
import threading
from pathlib import Path

from .jobs import safe_name
from .paths import inside

IMAGE_EXT = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
RECIPES = ("best", "fast", "classic")
SIZES = (32, 64, 128, 256)
BUDGETS = {"minutes": "--max-minutes", "steps": "--steps", "epochs": "--epochs"}
FORBIDDEN = ("--runs-dir", "--resume", "--dry-run", "--name")  # the form sets these itself
_cli_lock = threading.Lock()  # argparse errors and --dry-run print to the process's stdout/stderr


def list_folder(roots: list[Path], root: int, rel: str, max_entries: int = 500) -> dict:
    """Subfolders and image count of ROOTS[root]/rel; Refused for paths outside the root."""
    base = inside(roots[root], rel)
    if not base.is_dir():
        from .paths import Refused

        raise Refused(404, "no such folder")
    folders, images = [], []
    with os.scandir(base) as it:
        for e in sorted(it, key=lambda e: e.name.lower()):
            if e.name.startswith("."):
                continue
            if e.is_dir():
                folders.append(e.name)
            elif Path(e.name).suffix.lower() in IMAGE_EXT:
                images.append(e.name)
            if len(folders) + len(images) >= max_entries:
                break
    rel = str(base.relative_to(os.path.realpath(roots[root]))).replace(os.sep, "/")
    rel = "" if rel == "." else rel
    return {
        "root": root,
        "root_path": str(roots[root]),
        "path": rel,
        "abs": str(base),
        "parent": None if not rel else rel.rpartition("/")[0],
        "folders": folders,
        "images": len(images),
        "preview": images[:8],
    }


class FormError(ValueError):
    """A form field is wrong; the message names it."""


def train_args(form: dict, roots: list[Path], runs_dir: Path) -> tuple[list[str], str]:
    """`artistry train` arguments and the run name from the New-run form."""
    try:
        root = int(form.get("root", 0))
        data = inside(roots[root], str(form.get("path", "")))
    except (ValueError, IndexError):
        raise FormError("data folder: pick a folder under the allowed roots") from None
    except Exception:
        raise FormError("data folder: not inside the allowed roots") from None
    if not data.is_dir():
        raise FormError(f"data folder: {data} is not a folder")
    recipe = form.get("recipe", "best")
    if recipe not in RECIPES:
        raise FormError(f"recipe: choose one of {', '.join(RECIPES)}")
    try:
        size = int(form.get("size", 64))
    except (TypeError, ValueError):
        size = -1
    if size not in SIZES:
        raise FormError(f"size: choose one of {', '.join(map(str, SIZES))}")
    kind = form.get("budget_kind", "minutes")
    if kind not in BUDGETS:
        raise FormError("budget: minutes, steps or epochs")
    try:
        amount = float(form.get("budget", 10))
    except (TypeError, ValueError):
        raise FormError("budget: a number") from None
    if not 0 < amount <= 1e7:
        raise FormError("budget: must be positive")
    amount_text = str(int(amount)) if kind == "steps" else f"{amount:g}"
    name = safe_name(str(form.get("name", "")) or data.name)
    try:
        extra = shlex.split(str(form.get("extra", ""))[:2000])
    except ValueError as e:
        raise FormError(f"more flags: {e}") from None
    for flag in extra:
        if flag.split("=")[0] in FORBIDDEN:
            raise FormError(f"more flags: {flag.split('=')[0]} is set by the studio")
    args = [
        str(data),
        "--recipe",
        recipe,
        "--size",
        str(size),
        BUDGETS[kind],
        amount_text,
        *extra,
        "--name",
        name,
        "--runs-dir",
        str(runs_dir),
    ]
    return args, name


def dry_run(args: list[str]) -> tuple[bool, str]:
    """Run `artistry train ARGS --dry-run` through the CLI's own code; (ok, output or error)."""
    from ..cli.main import app

    out, err = io.StringIO(), io.StringIO()
    with _cli_lock, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = app(["train", *args, "--dry-run"])
        except SystemExit as e:  # argparse: bad flag
            code = e.code if isinstance(e.code, int) else 2
    if code == 0:
        return True, out.getvalue()
    return False, (err.getvalue().strip().splitlines() or ["invalid settings"])[-1]
