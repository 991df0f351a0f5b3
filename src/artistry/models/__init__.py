"""Model families; importing this module registers them."""

from . import dae, dcgan, fastgan, mlp, vae  # noqa: F401
from .base import CriticSpec, GenerativeModel  # noqa: F401
