"""Run directories: numbered folders holding config, checkpoints, samples and reports."""

from __future__ import annotations

import json
import re
from pathlib import Path

from .config import Config
from .errors import CheckpointError, ConfigError
from .io import checkpoint as ckpt
from .io.atomic import write_text_atomic

_RUN = re.compile(r"^(\d{5})-")


def new_run_dir(runs_dir: Path, name: str) -> Path:
    """Create runs/<NNNNN-name>/ with the next free number."""
    runs_dir = Path(runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    numbers = [int(m.group(1)) for p in runs_dir.iterdir() if (m := _RUN.match(p.name))]
    n = max(numbers, default=-1) + 1
    while True:
        path = runs_dir / f"{n:05d}-{name}"
        try:
            path.mkdir()
            return path
        except FileExistsError:  # another process took this number
            n += 1


def write_json_atomic(path: Path, data) -> None:
    write_text_atomic(path, json.dumps(data, indent=2))


def read_config(run_dir: Path) -> Config:
    path = Path(run_dir) / "config.json"
    if not Path(run_dir).is_dir():
        raise CheckpointError(f"run directory not found: {run_dir}")
    if not path.is_file():
        raise CheckpointError(f"{run_dir} is not an artistry run (no config.json)")
    try:
        return Config.from_dict(json.loads(path.read_text()))
    except json.JSONDecodeError:
        raise CheckpointError(f"{path} is not valid JSON") from None
    except (ConfigError, TypeError) as e:
        raise CheckpointError(f"{path} was written by an incompatible artistry version ({e})") from None


def find_checkpoint(run_dir: Path, which: str | int = "auto") -> Path:
    """The checkpoint file for `which`: "auto" (best if the run kept one, else last), "last",
    "best" or a step number."""
    folder = Path(run_dir) / "checkpoints"
    found = ckpt.list_checkpoints(folder)
    if which == "auto":
        which = "best" if (folder / "best.safetensors").is_file() else "last"
    if which == "best":
        best = folder / "best.safetensors"
        if best.is_file():
            return best
        raise CheckpointError(f"{run_dir} has no best checkpoint (train with --eval-every to keep one)")
    if which == "last":
        if not found:
            raise CheckpointError(f"{run_dir} has no checkpoints yet")
        return found[-1][1]
    try:
        step = int(which)
    except ValueError:
        raise ConfigError(f"--checkpoint: expected auto, last, best or a step number, got '{which}'") from None
    for s, p in found:
        if s == step:
            return p
    steps = ", ".join(str(s) for s, _ in found) or "none"
    raise CheckpointError(f"{run_dir} has no checkpoint at step {step} (available: {steps})")
