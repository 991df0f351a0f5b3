import struct
import zlib

import numpy as np
import pytest
from PIL import Image

import artistry.data.images as images_module
from artistry.data.images import REASON_BOMB, REASON_CORRUPT, REASON_NOT_IMAGE, ImageSkip, decode_image, load_image

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)


def halves(left, right, size=(16, 16), mode="RGB") -> Image.Image:
    """left half `left`, right half `right`."""
    image = Image.new(mode, size, left)
    image.paste(right, (size[0] // 2, 0, size[0], size[1]))
    return image


def thirds(size=(30, 10)) -> Image.Image:
    """Vertical stripes red | green | blue."""
    image = Image.new("RGB", size, RED)
    third = size[0] // 3
    image.paste(GREEN, (third, 0, 2 * third, size[1]))
    image.paste(BLUE, (2 * third, 0, size[0], size[1]))
    return image


def rgb_at(pixels, y, x):
    return tuple(int(v) for v in pixels[:, y, x])


def near(actual, expected, tolerance=12):
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected))


def test_output_is_contiguous_uint8_chw(tmp_path):
    path = tmp_path / "a.png"
    thirds().save(path)
    pixels = load_image(path, 12, "crop", 3)
    assert pixels.dtype == np.uint8 and pixels.shape == (3, 12, 12) and pixels.flags.c_contiguous
    assert load_image(path, 12, "crop", 1).shape == (1, 12, 12)


def test_exif_orientation_is_applied(tmp_path):
    # Stored 40 wide x 20 tall, red left / blue right; orientation 6 = "rotate 90 degrees clockwise
    # to display", so the viewer sees 20 x 40 with red on top and blue below.
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.jpg"
    halves(RED, BLUE, size=(40, 20)).save(path, exif=exif, quality=95)
    decoded = decode_image(path, 16, "stretch", 3)
    assert decoded.original_size == (20, 40)
    assert near(rgb_at(decoded.pixels, 2, 8), RED, 40)
    assert near(rgb_at(decoded.pixels, 13, 8), BLUE, 40)


def test_large_jpeg_reports_its_true_size_after_fast_draft_decoding(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "photo.jpg"
    thirds(size=(900, 600)).save(path, exif=exif, quality=90)
    decoded = decode_image(path, 16, "crop", 3)
    assert decoded.original_size == (600, 900)
    assert not decoded.upscaled
    assert near(rgb_at(decoded.pixels, 8, 8), GREEN, 30)  # the middle stripe, now horizontal


def test_rgba_transparency_becomes_white(tmp_path):
    image = halves((0, 0, 0, 0), (255, 0, 0, 255), mode="RGBA")
    image.paste((0, 0, 0, 128), (0, 0, 8, 4))  # half-transparent black: mid grey on white
    path = tmp_path / "rgba.png"
    image.save(path)
    pixels = load_image(path, 16, "crop", 3)
    assert rgb_at(pixels, 8, 2) == WHITE
    assert rgb_at(pixels, 8, 12) == RED
    assert near(rgb_at(pixels, 1, 2), (127, 127, 127), 2)


def test_la_transparency_becomes_white(tmp_path):
    path = tmp_path / "la.png"
    halves((0, 0), (50, 255), mode="LA").save(path)
    pixels = load_image(path, 16, "crop", 1)
    assert pixels[0, 8, 2] == 255 and pixels[0, 8, 12] == 50


@pytest.mark.parametrize("suffix", [".png", ".gif"])
def test_palette_transparency_becomes_white(tmp_path, suffix):
    image = Image.new("P", (16, 16), 0)
    image.putpalette([0, 0, 0, 0, 255, 0] + [0] * (256 * 3 - 6))
    image.paste(1, (8, 0, 16, 16))
    path = tmp_path / f"palette{suffix}"
    image.save(path, transparency=0)
    pixels = load_image(path, 16, "crop", 3)
    assert rgb_at(pixels, 8, 2) == WHITE
    assert rgb_at(pixels, 8, 12) == GREEN


def test_palette_without_transparency_keeps_its_colours(tmp_path):
    path = tmp_path / "palette.png"
    thirds(size=(30, 30)).convert("P").save(path)
    pixels = load_image(path, 30, "crop", 3)
    assert rgb_at(pixels, 15, 2) == RED and rgb_at(pixels, 15, 15) == GREEN and rgb_at(pixels, 15, 27) == BLUE


def test_cmyk_jpeg_converts_to_matching_rgb(tmp_path):
    colour = (200, 30, 60)
    path = tmp_path / "cmyk.jpg"
    Image.new("RGB", (16, 16), colour).convert("CMYK").save(path, quality=95)
    assert Image.open(path).mode == "CMYK"
    assert near(rgb_at(load_image(path, 16, "crop", 3), 8, 8), colour, 6)


def test_16_bit_png_is_scaled_to_8_bit(tmp_path):
    values = np.full((16, 16), 65535, dtype=np.uint16)
    values[:, 8:] = 128 * 257
    values[0, 0] = 0
    path = tmp_path / "deep.png"
    Image.fromarray(values).save(path)
    assert Image.open(path).mode.startswith("I")
    pixels = load_image(path, 16, "crop", 1)
    assert pixels[0, 8, 2] == 255 and pixels[0, 8, 12] == 128 and pixels[0, 0, 0] == 0
    assert (load_image(path, 16, "crop", 3)[:, 8, 12] == 128).all()


def test_32_bit_integer_and_float_tiffs_are_scaled(tmp_path):
    integer = tmp_path / "int.tif"
    Image.fromarray(np.full((16, 16), 65535 // 2, dtype=np.int32), "I").save(integer)
    assert load_image(integer, 16, "crop", 1)[0, 4, 4] == 127
    floats = tmp_path / "float.tif"
    Image.fromarray(np.full((16, 16), 0.5, dtype=np.float32), "F").save(floats)
    assert load_image(floats, 16, "crop", 1)[0, 4, 4] == 128


def test_greyscale_to_three_channels_and_rgb_to_one(tmp_path):
    grey = tmp_path / "grey.png"
    Image.new("L", (16, 16), 77).save(grey)
    assert (load_image(grey, 16, "crop", 3) == 77).all()
    red = tmp_path / "red.png"
    Image.new("RGB", (16, 16), RED).save(red)
    assert (load_image(red, 16, "crop", 1) == 76).all()  # ITU-R 601 luma: 0.299 * 255


def test_one_bit_image(tmp_path):
    path = tmp_path / "bits.png"
    halves(0, 1, mode="1").save(path)
    pixels = load_image(path, 16, "crop", 1)
    assert pixels[0, 8, 2] == 0 and pixels[0, 8, 12] == 255


def test_animated_gif_uses_first_frame(tmp_path):
    path = tmp_path / "anim.gif"
    first, second = Image.new("RGB", (16, 16), RED), Image.new("RGB", (16, 16), BLUE)
    first.save(path, save_all=True, append_images=[second], duration=100, loop=0)
    assert Image.open(path).n_frames == 2
    assert rgb_at(load_image(path, 16, "crop", 3), 8, 8) == RED


@pytest.mark.parametrize(
    "suffix, options",
    [
        (".webp", {"lossless": True}),
        (".bmp", {}),
        (".tiff", {}),
        (".tif", {}),
        (".jpeg", {"quality": 95}),
    ],
)
def test_reads_every_supported_format(tmp_path, suffix, options):
    path = tmp_path / f"image{suffix}"
    thirds(size=(48, 48)).save(path, **options)
    pixels = load_image(path, 24, "crop", 3)
    assert pixels.shape == (3, 24, 24)
    assert near(rgb_at(pixels, 12, 2), RED, 30) and near(rgb_at(pixels, 12, 21), BLUE, 30)


def test_fit_crop_keeps_the_centre_square(tmp_path):
    path = tmp_path / "wide.png"
    thirds(size=(30, 10)).save(path)
    assert (load_image(path, 10, "crop", 3) == np.array(GREEN, dtype=np.uint8)[:, None, None]).all()


def test_fit_stretch_keeps_everything_squeezed(tmp_path):
    path = tmp_path / "wide.png"
    thirds(size=(30, 10)).save(path)
    pixels = load_image(path, 12, "stretch", 3)
    assert near(rgb_at(pixels, 6, 0), RED) and near(rgb_at(pixels, 6, 6), GREEN) and near(rgb_at(pixels, 6, 11), BLUE)


def test_fit_pad_letterboxes_on_white(tmp_path):
    path = tmp_path / "wide.png"
    thirds(size=(30, 10)).save(path)
    pixels = load_image(path, 30, "pad", 3)  # the image fills rows 10..19
    assert (pixels[:, :10] == 255).all() and (pixels[:, 20:] == 255).all()
    assert rgb_at(pixels, 15, 2) == RED and rgb_at(pixels, 15, 15) == GREEN and rgb_at(pixels, 15, 27) == BLUE


def test_small_images_are_upscaled_and_flagged(tmp_path):
    small, large = tmp_path / "small.png", tmp_path / "large.png"
    Image.new("RGB", (10, 6), RED).save(small)
    Image.new("RGB", (40, 10), RED).save(large)
    decoded = decode_image(small, 32, "crop", 3)
    assert decoded.upscaled and decoded.original_size == (10, 6) and decoded.pixels.shape == (3, 32, 32)
    assert not decode_image(large, 32, "pad", 3).upscaled  # long side 40 >= 32
    assert decode_image(large, 32, "crop", 3).upscaled  # short side 10 < 32


def test_truncated_jpeg_is_skipped_as_corrupt(tmp_path):
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    path = tmp_path / "cut.jpg"
    Image.fromarray(noise).save(path)
    path.write_bytes(path.read_bytes()[:-600])
    with pytest.raises(ImageSkip) as skip:
        load_image(path, 16, "crop", 3)
    assert skip.value.reason == REASON_CORRUPT and "truncated" in skip.value.detail


@pytest.mark.parametrize("content", [b"", b"just some text, not a picture"])
def test_non_image_content_is_skipped(tmp_path, content):
    path = tmp_path / "fake.png"
    path.write_bytes(content)
    with pytest.raises(ImageSkip) as skip:
        load_image(path, 16, "crop", 3)
    assert skip.value.reason == REASON_NOT_IMAGE


def png_header_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_claiming(100_000, 100_000))
    with pytest.raises(ImageSkip) as skip:
        load_image(path, 16, "crop", 3)
    assert skip.value.reason == REASON_BOMB


def test_pixel_limit_is_ours_to_set(tmp_path, monkeypatch):
    path = tmp_path / "big.png"
    Image.new("RGB", (40, 40)).save(path)
    monkeypatch.setattr(images_module, "MAX_PIXELS", 40 * 40 - 1)
    with pytest.raises(ImageSkip) as skip:
        load_image(path, 16, "crop", 3)
    assert skip.value.reason == REASON_BOMB and "40x40" in skip.value.detail


def test_bad_options_are_programming_errors(tmp_path):
    path = tmp_path / "a.png"
    Image.new("RGB", (8, 8)).save(path)
    with pytest.raises(ValueError):
        load_image(path, 8, "zoom", 3)
    with pytest.raises(ValueError):
        load_image(path, 8, "crop", 4)
