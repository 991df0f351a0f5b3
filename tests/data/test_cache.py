import json

import numpy as np
import pytest
from PIL import Image

import artistry.data.cache as cache_module
from artistry.data.cache import default_cache_dir, load_prepared, prepare_dataset
from artistry.errors import ConfigError, DataError


@pytest.fixture
def cache_dir(tmp_path):
    return tmp_path / "cache"


def refuse_decoding(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("the cache should have been reused, but an image was decoded")

    monkeypatch.setattr(cache_module, "decode_image", fail)


def test_prepares_images_labels_and_manifest(image_folder, cache_dir):
    dataset = prepare_dataset(image_folder, size=16, cache_dir=cache_dir, progress=None)
    assert not dataset.reused
    assert dataset.images.shape == (12, 3, 16, 16) and dataset.images.dtype == np.uint8
    assert isinstance(dataset.images, np.memmap) and not dataset.images.flags.writeable
    assert dataset.labels.dtype == np.int64 and dataset.labels.shape == (12,)
    assert dataset.label_names == ["", "cats", "dogs"]
    assert dataset.path.parent == cache_dir / "datasets"

    files = dataset.files
    assert files[0] == "cats/cat0.png" and "dogs/puppies/puppy.webp" in files and "top0.bmp" in files
    names = [dataset.label_names[i] for i in dataset.labels]
    assert all(name == (f.split("/")[0] if "/" in f else "") for f, name in zip(files, names))
    # pixels line up with their files: top0.bmp is solid blue
    assert (dataset.images[files.index("top0.bmp")] == np.array([0, 0, 255], np.uint8)[:, None, None]).all()

    manifest = dataset.manifest
    assert manifest == json.loads((dataset.path / "manifest.json").read_text())
    assert manifest["count"] == 12 and manifest["key"] == dataset.key
    assert manifest["source"] == str(image_folder.resolve())
    assert manifest["options"] == {"size": 16, "fit": "crop", "channels": 3}
    assert manifest["labels"] == {"names": ["", "cats", "dogs"], "counts": [2, 6, 4]}
    reasons = {s["file"]: s["reason"] for s in manifest["skipped"]}
    assert reasons == {
        "cats/empty.png": "empty file",
        "cats/sketch.heic": "unsupported file type",
        "cats/notes.png": "not a readable image",
        "dogs/broken.jpg": "corrupt or truncated image",
    }
    assert sum(manifest["skipped_by_reason"].values()) == 4
    assert manifest["warnings"] == []


def test_upscaled_images_are_listed_as_warnings(image_folder, cache_dir):
    dataset = prepare_dataset(image_folder, size=32, cache_dir=cache_dir)
    warned = {w["file"] for w in dataset.manifest["warnings"]}
    assert warned == {f"cats/cat{i}.png" for i in range(6)}  # 30 x 20 < 32; the others are 40 x 40
    assert "upscaled from 30x20 to 32px" in dataset.manifest["warnings"][0]["warning"]


def test_progress_reports_every_candidate(image_folder, cache_dir):
    calls = []
    prepare_dataset(
        image_folder, size=16, cache_dir=cache_dir, progress=lambda done, total: calls.append((done, total))
    )
    assert calls[-1] == (14, 14) and len(calls) == 14  # 12 good + notes.png + broken.jpg


def test_second_run_reuses_the_cache_without_decoding(image_folder, cache_dir, monkeypatch):
    first = prepare_dataset(image_folder, size=16, cache_dir=cache_dir)
    refuse_decoding(monkeypatch)
    second = prepare_dataset(image_folder, size=16, cache_dir=cache_dir)
    assert second.reused and second.key == first.key and second.path == first.path
    np.testing.assert_array_equal(second.images, first.images)
    np.testing.assert_array_equal(second.labels, first.labels)


def test_moved_folder_reuses_the_cache_and_reports_the_new_source(image_folder, cache_dir, monkeypatch, tmp_path):
    first = prepare_dataset(image_folder, size=16, cache_dir=cache_dir)
    moved = image_folder.rename(tmp_path / "moved")
    refuse_decoding(monkeypatch)
    second = prepare_dataset(moved, size=16, cache_dir=cache_dir)
    assert second.reused and second.key == first.key
    assert second.manifest["source"] == str(moved.resolve())


@pytest.mark.parametrize("change", [{"size": 24}, {"fit": "pad"}, {"fit": "stretch"}, {"channels": 1}])
def test_changed_options_build_a_new_cache(image_folder, cache_dir, change):
    first = prepare_dataset(image_folder, size=16, cache_dir=cache_dir)
    options = {"size": 16, **change}
    second = prepare_dataset(image_folder, cache_dir=cache_dir, **options)
    assert not second.reused and second.key != first.key and second.path != first.path
    assert second.images.shape[1:] == (options.get("channels", 3), options["size"], options["size"])


def test_changed_file_content_builds_a_new_cache(image_folder, cache_dir):
    first = prepare_dataset(image_folder, size=16, cache_dir=cache_dir)
    Image.new("RGB", (40, 40), (0, 255, 0)).save(image_folder / "top0.bmp")
    second = prepare_dataset(image_folder, size=16, cache_dir=cache_dir)
    assert not second.reused and second.key != first.key
    assert (second.images[second.files.index("top0.bmp")][1] == 255).all()


def test_renamed_file_builds_a_new_cache(image_folder, cache_dir):
    first = prepare_dataset(image_folder, size=16, cache_dir=cache_dir)
    (image_folder / "top0.bmp").rename(image_folder / "cats" / "top0.bmp")  # changes its label
    second = prepare_dataset(image_folder, size=16, cache_dir=cache_dir)
    assert second.key != first.key and "cats/top0.bmp" in second.files


@pytest.mark.parametrize("damage", ["truncate images", "delete labels", "garble manifest", "wrong count"])
def test_damaged_cache_is_detected_and_rebuilt(image_folder, cache_dir, damage):
    first = prepare_dataset(image_folder, size=16, cache_dir=cache_dir)
    expected = np.array(first.images)
    path = first.path
    del first  # release the memory map before damaging its file
    if damage == "truncate images":
        data = (path / "images.npy").read_bytes()
        (path / "images.npy").write_bytes(data[: len(data) // 2])
    elif damage == "delete labels":
        (path / "labels.npy").unlink()
    elif damage == "garble manifest":
        (path / "manifest.json").write_text("{not json")
    else:
        manifest = json.loads((path / "manifest.json").read_text())
        manifest["count"] = 99
        (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DataError, match="corrupt|inconsistent"):
        load_prepared(path)

    rebuilt = prepare_dataset(image_folder, size=16, cache_dir=cache_dir)
    assert not rebuilt.reused and rebuilt.path == path
    np.testing.assert_array_equal(rebuilt.images, expected)
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temp or trash left


def test_interrupted_prepare_leaves_no_cache_behind(image_folder, cache_dir, monkeypatch):
    decode = cache_module.decode_image
    calls = []

    def interrupted_after_three(*args, **kwargs):
        calls.append(1)
        if len(calls) > 3:
            raise KeyboardInterrupt
        return decode(*args, **kwargs)

    monkeypatch.setattr(cache_module, "decode_image", interrupted_after_three)
    with pytest.raises(KeyboardInterrupt):
        prepare_dataset(image_folder, size=16, cache_dir=cache_dir)
    assert list((cache_dir / "datasets").iterdir()) == []

    monkeypatch.setattr(cache_module, "decode_image", decode)
    assert len(prepare_dataset(image_folder, size=16, cache_dir=cache_dir)) == 12


def test_too_few_usable_images_after_decoding(tmp_path, cache_dir):
    folder = tmp_path / "few"
    folder.mkdir()
    for i in range(3):
        Image.new("RGB", (16, 16)).save(folder / f"good{i}.png")
    for i in range(6):
        (folder / f"bad{i}.jpg").write_text("not a jpeg")
    with pytest.raises(DataError) as error:
        prepare_dataset(folder, size=16, cache_dir=cache_dir)
    message = str(error.value)
    assert str(folder) in message and "3 usable" in message and "6 not a readable image" in message
    assert not (cache_dir / "datasets").exists() or list((cache_dir / "datasets").iterdir()) == []


def test_reused_cache_still_checks_min_images(image_folder, cache_dir):
    prepare_dataset(image_folder, size=16, cache_dir=cache_dir, min_images=2)
    with pytest.raises(DataError, match="12 usable"):
        prepare_dataset(image_folder, size=16, cache_dir=cache_dir, min_images=13)


def test_labels_without_usable_images_are_dropped(image_folder, cache_dir):
    (image_folder / "broken_only").mkdir()
    (image_folder / "broken_only" / "x.png").write_text("nope")
    dataset = prepare_dataset(image_folder, size=16, cache_dir=cache_dir)
    assert dataset.label_names == ["", "cats", "dogs"]


def test_files_directly_in_the_folder_share_one_empty_label(tmp_path, cache_dir):
    folder = tmp_path / "flat"
    folder.mkdir()
    for i in range(8):
        Image.new("L", (16, 16), i).save(folder / f"{i}.png")
    dataset = prepare_dataset(folder, size=8, channels=1, cache_dir=cache_dir)
    assert dataset.label_names == [""] and (dataset.labels == 0).all()
    assert [int(dataset.images[i, 0, 0, 0]) for i in range(8)] == list(range(8))


@pytest.mark.parametrize(
    "options, flag",
    [
        ({"size": 7}, "--size"),
        ({"size": 1025}, "--size"),
        ({"size": 64.0}, "--size"),
        ({"size": True}, "--size"),
        ({"fit": "zoom"}, "--fit"),
        ({"channels": 2}, "--channels"),
        ({"min_images": 0}, "--min-images"),
    ],
)
def test_invalid_options_are_config_errors_naming_the_flag(image_folder, cache_dir, options, flag):
    with pytest.raises(ConfigError, match=flag):
        prepare_dataset(image_folder, cache_dir=cache_dir, **options)


def test_any_size_in_range_is_allowed(image_folder, cache_dir):
    assert prepare_dataset(image_folder, size=8, cache_dir=cache_dir).images.shape[-1] == 8
    assert prepare_dataset(image_folder, size=37, cache_dir=cache_dir).images.shape[-1] == 37


def test_cache_inside_the_dataset_must_be_hidden(image_folder):
    with pytest.raises(ConfigError, match="--cache-dir"):
        prepare_dataset(image_folder, size=16, cache_dir=image_folder / "cache")
    first = prepare_dataset(image_folder, size=16, cache_dir=image_folder / ".cache")
    assert prepare_dataset(image_folder, size=16, cache_dir=image_folder / ".cache").key == first.key


def test_missing_folder_is_a_data_error(tmp_path, cache_dir):
    with pytest.raises(DataError, match="does not exist"):
        prepare_dataset(tmp_path / "missing", cache_dir=cache_dir)


def test_default_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ARTISTRY_CACHE", str(tmp_path / "elsewhere"))
    assert default_cache_dir() == tmp_path / "elsewhere"
    monkeypatch.delenv("ARTISTRY_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / ".cache" / "artistry"


def test_load_prepared_rejects_a_folder_that_is_not_a_cache(tmp_path):
    with pytest.raises(DataError, match="missing or corrupt"):
        load_prepared(tmp_path)


def test_full_disk_while_preparing_is_a_data_error_naming_the_cache_folder(image_folder, cache_dir, monkeypatch):
    """The pixels go through a memory map: without reserving the file first, a full disk is a SIGBUS
    that kills the process at some later page write instead of an error."""
    import errno
    import os

    reserved = []

    def full(fd, offset, length):
        reserved.append(length)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cache_module.os, "posix_fallocate", full, raising=False)
    with pytest.raises(DataError) as e:
        prepare_dataset(image_folder, size=16, cache_dir=cache_dir)
    need = 12 * 3 * 16 * 16
    assert reserved and reserved[0] >= need  # the whole pixel array, header included, reserved up front
    import re

    assert f"'{cache_dir / 'datasets'}'" in str(e.value)
    assert int(re.search(r"\((\d+) bytes\)", str(e.value)).group(1)) >= need  # every candidate image
    assert "--cache-dir" in str(e.value)
    assert os.listdir(cache_dir / "datasets") == []  # the temp folder is gone
    monkeypatch.undo()
    assert len(prepare_dataset(image_folder, size=16, cache_dir=cache_dir)) == 12
