"""Data pipeline: scan a folder, decode and cache it as uint8 [N, C, H, W], serve batches.

BatchLoader is imported lazily so that `artistry prepare` does not pay for importing torch.
"""

from artistry.data.cache import PreparedDataset, check_options, default_cache_dir, load_prepared, prepare_dataset
from artistry.data.images import FITS, DecodedImage, ImageSkip, decode_image, load_image
from artistry.data.scan import IMAGE_EXTENSIONS, ImageFile, ScanResult, Skipped, scan_folder

__all__ = [
    "BatchLoader",
    "DecodedImage",
    "FITS",
    "IMAGE_EXTENSIONS",
    "ImageFile",
    "ImageSkip",
    "PreparedDataset",
    "ScanResult",
    "Skipped",
    "check_options",
    "decode_image",
    "default_cache_dir",
    "load_image",
    "load_prepared",
    "prepare_dataset",
    "scan_folder",
]


def __getattr__(name):
    if name == "BatchLoader":
        from artistry.data.loader import BatchLoader

        return BatchLoader
    raise AttributeError(f"module 'artistry.data' has no attribute {name!r}")
