"""Periodic work during training."""

from .base import Callback, crossed  # noqa: F401
from .checkpoints import Checkpointer  # noqa: F401
from .metrics_log import MetricsLog  # noqa: F401
from .progress import ProgressBar  # noqa: F401
from .samples import SampleGrids  # noqa: F401
