"""Decode one image file into a uint8 [C, H, W] array.

Handles what users' folders really contain: EXIF-rotated phone photos, transparent PNGs
(composited on white), palette, greyscale, CMYK and 16-bit files, ICC profiles, animated GIFs
(first frame), and files that only pretend to be images. Anything unusable raises ImageSkip
with a short reason, so the caller can skip it and report why.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageCms, ImageOps

FITS = ("crop", "pad", "stretch")
CHANNELS = (1, 3)

# Refuse images with more pixels than this before decoding them (a small file can claim a huge
# size). Same as Pillow's warning threshold: ~256 MB once decoded as 8-bit RGB.
MAX_PIXELS = 89_478_485

# Resize in two steps when shrinking a lot (fast integer reduce, then LANCZOS): same look.
REDUCING_GAP = 3.0
WHITE = 255

# Short fixed reasons so reports can group skipped files; the specifics go in ImageSkip.detail.
REASON_BOMB = "decompression bomb"
REASON_NOT_IMAGE = "not a readable image"
REASON_CORRUPT = "corrupt or truncated image"
REASON_UNREADABLE = "unreadable file"

_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")
_HIGH_BIT_DEPTH_MODES = ("I", "I;16", "I;16L", "I;16B", "I;16N", "F")


class ImageSkip(Exception):
    """This file cannot be used. `reason` is a short phrase shared by similar files."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class DecodedImage:
    """A decoded, fitted image and what a report needs to know about the original."""

    pixels: np.ndarray  # [C, H, W] uint8
    original_size: tuple[int, int]  # (width, height) after EXIF rotation
    upscaled: bool  # the original was smaller than the target along the fitted side


def load_image(path: str | os.PathLike, size: int, fit: str = "crop", channels: int = 3) -> np.ndarray:
    """Decode an image file into a square uint8 array.

    Args:
        path: the image file.
        size: side of the square output in pixels.
        fit: "crop" (centre square), "pad" (letterbox on white) or "stretch" (ignore aspect).
        channels: 1 (greyscale) or 3 (RGB).

    Returns:
        uint8 array [channels, size, size].

    Raises:
        ImageSkip: the file is not a usable image (reason says why).
    """
    return decode_image(path, size, fit, channels).pixels


def decode_image(path: str | os.PathLike, size: int, fit: str = "crop", channels: int = 3) -> DecodedImage:
    """Like load_image, but also tells the original size and whether it had to be upscaled.

    Args:
        path: the image file.
        size: side of the square output in pixels.
        fit: "crop", "pad" or "stretch".
        channels: 1 or 3.
    """
    if fit not in FITS:
        raise ValueError(f"fit must be one of {FITS}, got {fit!r}")
    if channels not in CHANNELS:
        raise ValueError(f"channels must be one of {CHANNELS}, got {channels!r}")
    try:
        with Image.open(path) as opened:  # lazy: reads the header only; frame 0 of animations
            _refuse_decompression_bomb(opened)
            header_size = opened.size
            if opened.format == "JPEG":
                # Let libjpeg decode big photos at 1/2..1/8 scale (keeping >= 2x the target): fast.
                opened.draft(opened.mode, (2 * size, 2 * size))
            opened.load()
            image = _apply_exif_orientation(opened)
            # Report the true size, not the drafted one; EXIF may have swapped width and height.
            original_size = header_size if image.size == opened.size else header_size[::-1]
            image = _to_l_or_rgb(image)
    except ImageSkip:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageSkip(REASON_BOMB, str(error)) from None
    except Image.UnidentifiedImageError:
        raise ImageSkip(REASON_NOT_IMAGE, "the file's content is not an image format Pillow reads") from None
    except OSError as error:
        if error.errno is not None:  # the OS failed (permissions, I/O), not the decoder
            raise ImageSkip(REASON_UNREADABLE, str(error)) from None
        raise ImageSkip(REASON_CORRUPT, str(error)) from None
    except Exception as error:  # noqa: BLE001 - decoders raise many types on broken files
        raise ImageSkip(REASON_CORRUPT, f"{type(error).__name__}: {error}") from None

    fitted = _fit_square(image, size, fit)
    fitted = fitted.convert("L" if channels == 1 else "RGB")
    pixels = np.asarray(fitted, dtype=np.uint8)
    pixels = pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)  # [C, H, W]
    return DecodedImage(np.ascontiguousarray(pixels), original_size, _is_upscaled(original_size, size, fit))


def _refuse_decompression_bomb(image: Image.Image) -> None:
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ImageSkip(REASON_BOMB, f"{width}x{height} pixels is more than the limit of {MAX_PIXELS}")


def _apply_exif_orientation(image: Image.Image) -> Image.Image:
    try:
        return ImageOps.exif_transpose(image)
    except Exception:  # noqa: BLE001 - a broken EXIF block should not cost the image
        return image


def _to_l_or_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to "L" or "RGB"; transparency becomes white."""
    if image.mode in _HIGH_BIT_DEPTH_MODES:
        return _high_bit_depth_to_l(image)
    if image.mode == "1":
        return image.convert("L")
    if _has_alpha(image):
        return _composite_on_white(image.convert("RGBA"))
    if image.mode in ("RGB", "CMYK"):
        return _icc_to_srgb(image) or image.convert("RGB")
    if image.mode == "L":
        return image
    return image.convert("RGB")  # P, RGBX, YCbCr, HSV, LAB...


def _has_alpha(image: Image.Image) -> bool:
    if image.mode in _ALPHA_MODES or "transparency" in image.info:
        return True
    return image.mode == "P" and image.palette is not None and image.palette.mode == "RGBA"


def _composite_on_white(rgba: Image.Image) -> Image.Image:
    # Blend over white by alpha: fully transparent pixels become white whatever colour they hide.
    background = Image.new("RGBA", rgba.size, (WHITE, WHITE, WHITE, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _high_bit_depth_to_l(image: Image.Image) -> Image.Image:
    """16-bit and 32-bit greyscale to 8-bit by scaling the range (Pillow's convert clips)."""
    values = np.asarray(image).astype(np.float64)  # [H, W]
    if image.mode == "F":
        scale = 255.0 if values.max(initial=0.0) <= 1.0 else 1.0  # floats come as 0..1 or 0..255
    elif image.mode.startswith("I;16") or values.max(initial=0.0) > 255:
        scale = 255.0 / 65535.0  # mode "I" is 16-bit data unless its values say otherwise
    else:
        scale = 1.0
    return Image.fromarray(np.clip(np.rint(values * scale), 0, 255).astype(np.uint8), "L")


_SRGB_PROFILE = None


def _icc_to_srgb(image: Image.Image) -> Image.Image | None:
    """Convert through an embedded ICC profile (Adobe RGB photos, CMYK print files) to sRGB.
    Returns None when there is no profile, it is sRGB already, or it cannot be used."""
    global _SRGB_PROFILE
    icc = image.info.get("icc_profile")
    if not icc:
        return None
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" in ImageCms.getProfileDescription(source).lower():
            return None
        if _SRGB_PROFILE is None:
            _SRGB_PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
        return ImageCms.profileToProfile(image, source, _SRGB_PROFILE, outputMode="RGB")
    except Exception:  # noqa: BLE001 - a bad profile falls back to a plain conversion
        return None


def _fit_square(image: Image.Image, size: int, fit: str) -> Image.Image:
    width, height = image.size
    if fit == "crop":
        side = min(width, height)
        left, top = (width - side) / 2, (height - side) / 2
        box = (left, top, left + side, top + side)
        return image.resize((size, size), Image.Resampling.LANCZOS, box=box, reducing_gap=REDUCING_GAP)
    if fit == "stretch":
        return image.resize((size, size), Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)
    # pad: shrink the long side to `size`, then centre on a white square
    scale = size / max(width, height)
    inner = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = image.resize(inner, Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)
    canvas = Image.new(image.mode, (size, size), WHITE if image.mode == "L" else (WHITE,) * 3)
    canvas.paste(resized, ((size - inner[0]) // 2, (size - inner[1]) // 2))
    return canvas


def _is_upscaled(original_size: tuple[int, int], size: int, fit: str) -> bool:
    width, height = original_size
    return (max(width, height) if fit == "pad" else min(width, height)) < size
