"""Model families; importing this module registers them."""
from . import dcgan, mlp  # noqa: F401
from .base import CriticSpec, GenerativeModel  # noqa: F401
