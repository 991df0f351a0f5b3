from pathlib import Path

import pytest
from PIL import Image

from artistry.data.scan import REASON_EMPTY, REASON_NOT_IMAGE_TYPE, scan_folder
from artistry.errors import DataError


def test_lists_images_recursively_sorted_with_top_level_labels(image_folder):
    result = scan_folder(image_folder)
    rels = [item.rel for item in result.items]
    assert rels == sorted(rels)
    assert set(rels) == {
        *(f"cats/cat{i}.png" for i in range(6)),
        *(f"dogs/dog{i}.jpg" for i in range(3)),
        "cats/notes.png",  # text named .png and a truncated JPEG: decoding finds them out later
        "dogs/broken.jpg",
        "dogs/puppies/puppy.webp",
        "top0.bmp",
        "top1.tiff",
    }
    assert result.label_names == ["", "cats", "dogs"]
    label_of = {item.rel: result.label_names[item.label] for item in result.items}
    assert label_of["cats/cat0.png"] == "cats"
    assert label_of["dogs/puppies/puppy.webp"] == "dogs"  # nested folders count for the top one
    assert label_of["top0.bmp"] == ""
    assert all(item.path == image_folder / item.rel for item in result.items)


def test_skips_empty_and_non_image_files_with_reasons(image_folder):
    skipped = {s.rel: s.reason for s in scan_folder(image_folder).skipped}
    assert skipped == {"cats/empty.png": REASON_EMPTY, "cats/sketch.heic": REASON_NOT_IMAGE_TYPE}


def test_ignores_hidden_files_and_folders_and_notes(image_folder):
    result = scan_folder(image_folder)
    every_rel = [i.rel for i in result.items] + [s.rel for s in result.skipped]
    assert not any(part.startswith(".") for rel in every_rel for part in rel.split("/"))
    assert "readme.txt" not in every_rel


def test_extensions_are_case_insensitive(tmp_path):
    for i in range(2):
        Image.new("RGB", (8, 8)).save(tmp_path / f"a{i}.JPG", format="JPEG")
    Image.new("RGB", (8, 8)).save(tmp_path / "b.Png", format="PNG")
    result = scan_folder(tmp_path, min_images=3)
    assert [item.rel for item in result.items] == ["a0.JPG", "a1.JPG", "b.Png"]
    assert result.label_names == [""]


def test_missing_folder_is_a_data_error_naming_it(tmp_path):
    with pytest.raises(DataError, match="nowhere"):
        scan_folder(tmp_path / "nowhere")


def test_file_instead_of_folder_is_a_data_error(tmp_path):
    file = tmp_path / "picture.png"
    Image.new("RGB", (8, 8)).save(file)
    with pytest.raises(DataError, match="not a folder"):
        scan_folder(file)


def test_empty_folder_says_no_images(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"'.*empty' has no images"):
        scan_folder(tmp_path / "empty")


def test_too_few_images_says_how_many_and_why_others_were_skipped(tmp_path):
    Image.new("RGB", (8, 8)).save(tmp_path / "one.png")
    (tmp_path / "zero.png").write_bytes(b"")
    (tmp_path / "layers.psd").write_text("x")
    with pytest.raises(DataError) as error:
        scan_folder(tmp_path, min_images=8)
    message = str(error.value)
    assert str(tmp_path) in message
    assert "1 usable image" in message and "at least 8" in message
    assert "1 empty file (zero.png)" in message
    assert "1 unsupported file type (layers.psd)" in message


def test_min_images_is_configurable(tmp_path):
    for i in range(3):
        Image.new("RGB", (8, 8)).save(Path(tmp_path) / f"{i}.png")
    assert len(scan_folder(tmp_path, min_images=3).items) == 3
    with pytest.raises(DataError):
        scan_folder(tmp_path, min_images=4)
