"""Config -> loss object + model family on a device. Shared by training and loading."""
from __future__ import annotations

import torch

from .config import Config
from .errors import ConfigError
from .losses.base import Loss
from .models.base import GenerativeModel
from .registry import LOSSES, MODELS


def pick_device(name: str) -> torch.device:
    """'auto' is the first CUDA GPU when there is one, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"--device: '{name}' requested but no CUDA GPU is available")
    return torch.device(name)


def build_model(cfg: Config, device: torch.device) -> tuple[GenerativeModel, Loss]:
    """The loss object and the model family it trains, on `device`, in channels_last."""
    loss = LOSSES.get(cfg.loss.loss, flag="--loss")(cfg)
    family = MODELS.get(cfg.model.model, flag="--model")
    model = family.from_config(cfg, loss.critic_spec() if loss.needs_critic else None)
    # channels_last lets oneDNN / cuDNN pick their fastest conv kernels; no-op for dense layers.
    model = model.to(device=device, memory_format=torch.channels_last)
    return model, loss
