"""Checkpoints as one safetensors file: every tensor in the file, everything else as JSON metadata.

No pickled code: loading never executes anything from the file. Writes are atomic (temp file in
the same folder, fsync, os.replace, fsync of the folder), so a crash at any moment leaves either
the old or the new checkpoint, never a torn one.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save as serialize

from ..errors import CheckpointError

FORMAT = "artistry-checkpoint"
FORMAT_VERSION = 1
_NAME = re.compile(r"^step-(\d{9})\.safetensors$")


def checkpoint_name(step: int) -> str:
    return f"step-{step:09d}.safetensors"


def save_atomic(path: Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Write tensors + JSON-able meta to `path` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # safetensors refuses views sharing storage; a contiguous CPU copy of each is cheap here.
    flat = {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}
    header = {"format": FORMAT, "format_version": str(FORMAT_VERSION), "meta": json.dumps(meta)}
    # Serialised in memory and written by Python, so a full disk is an OSError naming the file
    # (safetensors' own save_file reports it as a SafetensorError).
    data = serialize(flat, metadata=header)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".safetensors", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError) and not e.filename:  # name the checkpoint in the message
            raise OSError(e.errno, e.strerror, str(path)) from None
        raise
    fsync_dir(path.parent)


def non_finite(tensors: dict[str, torch.Tensor]) -> list[str]:
    """Names of the floating-point tensors holding a NaN or an infinity (one host sync in all)."""
    floats = [(k, v) for k, v in tensors.items() if v.is_floating_point() and v.numel()]
    if not floats:
        return []
    ok = torch.stack([torch.isfinite(v).all().to("cpu") for _, v in floats]).tolist()
    return [k for (k, _), good in zip(floats, ok) if not good]


def is_finite(path: Path) -> bool:
    """Whether a checkpoint holds only finite numbers (its header says so; older files are read)."""
    try:
        with safe_open(str(path), framework="pt") as f:
            flag = json.loads((f.metadata() or {}).get("meta", "{}")).get("finite")
        if flag is None:
            flag = not non_finite(load(path)[0])
        return bool(flag)
    except Exception:  # unreadable counts as not good
        return False


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def load(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a checkpoint; any problem is a CheckpointError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            header = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors raises several types for torn or foreign files
        raise CheckpointError(f"cannot read checkpoint {path}: not a valid artistry checkpoint ({e})") from None
    if header.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an artistry checkpoint")
    if header.get("format_version") != str(FORMAT_VERSION):
        raise CheckpointError(
            f"{path} was written by an incompatible artistry version "
            f"(checkpoint format {header.get('format_version')}, this one reads {FORMAT_VERSION})"
        )
    try:
        meta = json.loads(header["meta"])
    except (KeyError, json.JSONDecodeError):
        raise CheckpointError(f"{path} has damaged metadata") from None
    return tensors, meta


def list_checkpoints(folder: Path) -> list[tuple[int, Path]]:
    """(step, path) of the step-numbered checkpoints in `folder`, oldest first."""
    if not Path(folder).is_dir():
        return []
    out = []
    for p in Path(folder).iterdir():
        m = _NAME.match(p.name)
        if m:
            out.append((int(m.group(1)), p))
    return sorted(out)


def prune(folder: Path, keep: int) -> None:
    """Delete all but the newest `keep` step checkpoints (best.safetensors is never touched).

    The newest checkpoint with finite weights is always spared, even when it is older than the
    last `keep`, so a run whose weights went NaN can still be resumed from before that.
    """
    found = list_checkpoints(folder)
    doomed, kept = found[:-keep], found[-keep:]
    if doomed and not any(is_finite(p) for _, p in reversed(kept)):
        spare = next((p for _, p in reversed(doomed) if is_finite(p)), None)
        doomed = [(s, p) for s, p in doomed if p != spare]
    for _, p in doomed:
        p.unlink(missing_ok=True)
    for stale in Path(folder).glob(".tmp-*"):  # leftovers of a process killed mid-write
        stale.unlink(missing_ok=True)


def pack_state_dict(prefix: str, sd: dict[str, Any], tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    """Move the tensors of a (possibly nested) state dict into `tensors` under `prefix`.

    Returns the JSON-able remainder, with tensors replaced by {"__tensor__": key}.
    """

    def walk(obj: Any, key: str) -> Any:
        if isinstance(obj, torch.Tensor):
            tensors[key] = obj
            return {"__tensor__": key}
        if isinstance(obj, dict):
            return {"__dict__": [[k, walk(v, f"{key}.{k}")] for k, v in obj.items()]}
        if isinstance(obj, (list, tuple)):
            return {"__list__": [walk(v, f"{key}.{i}") for i, v in enumerate(obj)], "tuple": isinstance(obj, tuple)}
        return obj

    return walk(sd, prefix)


def unpack_state_dict(packed: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Inverse of pack_state_dict."""
    if isinstance(packed, dict):
        if "__tensor__" in packed:
            return tensors[packed["__tensor__"]]
        if "__dict__" in packed:
            return {k: unpack_state_dict(v, tensors) for k, v in packed["__dict__"]}
        if "__list__" in packed:
            items = [unpack_state_dict(v, tensors) for v in packed["__list__"]]
            return tuple(items) if packed.get("tuple") else items
    return packed
