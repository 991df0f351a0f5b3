"""artistry: train generative models on your own artworks and make new art with them.

import artistry
run_dir = artistry.train(artistry.Config(...))
images = artistry.load(run_dir).generate(16, seed=7)   # uint8 [16, C, H, W]
"""

__version__ = "0.1.0"

from .api import load, train  # noqa: E402,F401
from .config import Config  # noqa: E402,F401
