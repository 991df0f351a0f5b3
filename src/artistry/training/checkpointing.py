"""TrainState <-> checkpoint file. Restores weights, optimizers, EMA, counters, RNG, loader."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import torch

from .. import __version__
from ..config import Config
from ..errors import CheckpointError, NonFiniteError
from ..io import checkpoint as ckpt
from .state import TrainState


def save_state(path: Path, state: TrainState, cfg: Config, loader_state: dict[str, Any]) -> None:
    tensors: dict[str, torch.Tensor] = {}
    for k, v in state.model.state_dict().items():
        tensors[f"model.{k}"] = v
    if state.ema is not None:
        for k, v in state.ema.state_dict().items():
            tensors[f"ema.{k}"] = v
    optim = {
        name: ckpt.pack_state_dict(f"optim.{name}", opt.state_dict(), tensors) for name, opt in state.optimizers.items()
    }
    tensors["fixed.z"] = state.fixed_z
    tensors["fixed.real"] = state.fixed_real
    if state.fixed_y is not None:
        tensors["fixed.y"] = state.fixed_y
    tensors["rng.torch"] = torch.get_rng_state()
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = s
    bad = ckpt.non_finite(tensors)
    if bad:  # a NaN run must not push its last good checkpoints out of the kept ones
        raise NonFiniteError(
            f"step {state.step}: {len(bad)} tensors are NaN or infinite ({', '.join(bad[:3])}), "
            f"so {path.name} was not written; the checkpoints before it in {path.parent} are kept"
        )
    meta = {
        "artistry_version": __version__,
        "finite": True,
        "config": cfg.to_dict(),
        "step": state.step,
        "images_seen": state.images_seen,
        "elapsed": state.elapsed,
        "loader": loader_state,
        "optimizers": optim,
        "extra": state.extra,
        "has_ema": state.ema is not None,
        "label_names": list(cfg.data.label_names),  # [] when unconditional
        # each label's share of the training images: what `generate` draws labels from by default
        "label_frequencies": [] if state.label_freq is None else [float(f) for f in state.label_freq],
    }
    ckpt.save_atomic(path, tensors, meta)


def _prefixed(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    n = len(prefix)
    return {k[n:]: v for k, v in tensors.items() if k.startswith(prefix)}


def load_weights(model, ema, tensors: dict[str, torch.Tensor], path: Path) -> None:
    """Load model (and EMA) weights; a mismatch means another config or version."""
    try:
        model.load_state_dict(_prefixed(tensors, "model."))
        if ema is not None:
            ema_sd = _prefixed(tensors, "ema.")
            ema.load_state_dict(ema_sd if ema_sd else model.G.state_dict())
    except RuntimeError as e:
        first = str(e).splitlines()[0]
        raise CheckpointError(f"{path} does not match this model's architecture ({first})") from None


def match_parameter_layout(opt: torch.optim.Optimizer) -> None:
    """Give each moment tensor its parameter's memory layout (strides).

    Checkpoints store tensors contiguous; a channels_last network's Adam moments come back
    contiguous while its weights are channels_last. Fused Adam (CPU and CUDA) walks weights,
    gradients and moments as flat arrays, so mismatched strides pair the wrong elements: a
    resumed run silently diverged from an uninterrupted one.
    """
    for group in opt.param_groups:
        for p in group["params"]:
            for key, value in opt.state.get(p, {}).items():
                if torch.is_tensor(value) and value.shape == p.shape and value.stride() != p.stride():
                    opt.state[p][key] = torch.empty_like(p, dtype=value.dtype).copy_(value)


def restore_state(path: Path, state: TrainState) -> dict[str, Any]:
    """Load everything into `state` in place; returns the checkpoint's meta (loader state etc.)."""
    tensors, meta = ckpt.load(path)
    load_weights(state.model, state.ema, tensors, path)
    for name, opt in state.optimizers.items():
        packed = meta["optimizers"].get(name)
        if packed is None:
            raise CheckpointError(f"{path} has no optimizer state for '{name}'")
        opt.load_state_dict(ckpt.unpack_state_dict(packed, tensors))
        match_parameter_layout(opt)
    # Everything a checkpoint holds comes back on the CPU: put it where the model is (a GPU run
    # resumed on a GPU crashed here once; a GPU run resumed on a CPU must not stay on the GPU).
    device = next(state.model.parameters()).device
    state.fixed_z = tensors["fixed.z"].to(device)
    state.fixed_real = tensors["fixed.real"].to(device)
    state.fixed_y = tensors["fixed.y"].to(device) if "fixed.y" in tensors else None
    state.step = int(meta["step"])
    state.images_seen = int(meta["images_seen"])
    state.elapsed = float(meta["elapsed"])
    state.extra = dict(meta.get("extra", {}))
    torch.set_rng_state(tensors["rng.torch"])
    _restore_cuda_rng(tensors, path)
    return meta


def _restore_cuda_rng(tensors: dict[str, torch.Tensor], path: Path) -> None:
    """Per-GPU RNG states in device order (rng.cuda.10 after rng.cuda.2), as many as there are GPUs."""
    keys = sorted((k for k in tensors if k.startswith("rng.cuda.")), key=lambda k: int(k.rsplit(".", 1)[1]))
    if not keys or not torch.cuda.is_available():
        return
    gpus = torch.cuda.device_count()
    if len(keys) > gpus:
        print(
            f"warning: {path} holds random states for {len(keys)} GPUs and this machine has {gpus}; "
            f"only the first {gpus} are restored, so the run will not repeat bit for bit",
            file=sys.stderr,
        )
    for i, k in enumerate(keys[:gpus]):
        torch.cuda.set_rng_state(tensors[k], i)
