"""Losses; importing this module registers them."""

from . import adversarial, reconstruction  # noqa: F401
from .base import Loss, OptimSpec, Phase  # noqa: F401
