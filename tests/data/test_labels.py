"""Labels for conditional runs: subfolders or a CSV, rare labels merged into 'other', clear errors."""

from __future__ import annotations

import pytest

from artistry.data.labels import OTHER, resolve_labels
from artistry.errors import ConfigError, DataError


def folders(**counts):
    """(files, folder labels) with `n` files in each named subfolder."""
    files, labels = [], []
    for name, n in counts.items():
        files += [f"{name}/{i}.png" for i in range(n)]
        labels += [name] * n
    return files, labels


def test_subfolders_are_the_labels_sorted():
    files, labels = folders(b=3, a=2)
    got = resolve_labels(files, labels, min_images=1)
    assert got.names == ["a", "b"] and got.counts == [2, 3]
    assert got.labels.tolist() == [1, 1, 1, 0, 0] and got.labels.dtype.name == "int64"


def test_rare_labels_are_merged_into_other_which_comes_last():
    files, labels = folders(big=30, zeta=25, rare1=12, rare2=9)
    got = resolve_labels(files, labels, min_images=20)
    assert got.names == ["big", "zeta", OTHER] and got.counts == [30, 25, 21]
    assert got.frequencies().sum() == pytest.approx(1.0)
    files_in_root = [*files, "loose.png"]
    assert resolve_labels(files_in_root, [*labels, ""], min_images=20).counts == [30, 25, 22]  # root files: other


def test_other_with_too_few_images_names_the_labels_and_the_flag():
    files, labels = folders(big=30, zeta=25, rare=5)
    with pytest.raises(ConfigError, match=r"--min-label-images 20: .* 'other' then has only 5 images \(rare \(5\)\)"):
        resolve_labels(files, labels, min_images=20)


def test_fewer_than_two_labels_is_refused():
    files, labels = folders(only=30)
    with pytest.raises(ConfigError, match="at least 2 labels"):
        resolve_labels(files, labels)
    files, labels = folders(a=12, b=12)  # both rare: everything is "other"
    with pytest.raises(ConfigError, match="at least 2 labels"):
        resolve_labels(files, labels, min_images=20)


def write_csv(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_csv_replaces_the_folder_labels(tmp_path):
    files, labels = folders(a=2, b=2)
    csv = write_csv(tmp_path / "l.csv", "file,style,artist\na/0.png,X,p\n./a/1.png,Y,q\nb/0.png,X,p\nb\\1.png,Y,p\n")
    got = resolve_labels(files, labels, csv_path=csv, column="style", min_images=1)
    assert got.names == ["X", "Y"] and got.labels.tolist() == [0, 1, 0, 1]
    got = resolve_labels(files, labels, csv_path=csv, column="artist", min_images=1)
    assert got.names == ["p", "q"] and got.labels.tolist() == [0, 1, 0, 0]


def test_a_missing_column_lists_the_columns(tmp_path):
    files, labels = folders(a=2)
    csv = write_csv(tmp_path / "l.csv", "file,style,artist\na/0.png,X,p\na/1.png,Y,q\n")
    with pytest.raises(
        ConfigError, match=r"--label-column: 'label' is not a column .* \(its columns: file, style, artist\)"
    ):
        resolve_labels(files, labels, csv_path=csv)
    csv = write_csv(tmp_path / "m.csv", "path,label\na/0.png,X\n")
    with pytest.raises(DataError, match=r"no 'file' column \(its columns: path, label\)"):
        resolve_labels(files, labels, csv_path=csv)


def test_a_csv_file_that_is_not_in_the_folder_is_named(tmp_path):
    files, labels = folders(a=2)
    csv = write_csv(tmp_path / "l.csv", "file,label\na/0.png,X\na/1.png,Y\nelsewhere/z.png,X\n")
    with pytest.raises(DataError, match=r"1 file\(s\) in .* are not in the dataset folder, e.g. elsewhere/z.png"):
        resolve_labels(files, labels, csv_path=csv, min_images=1)
    # a file the dataset skipped (unreadable) may stay in the CSV
    got = resolve_labels(files, labels, csv_path=csv, min_images=1, skipped=("elsewhere/z.png",))
    assert got.names == ["X", "Y"]


def test_an_image_without_a_row_or_label_is_refused(tmp_path):
    files, labels = folders(a=3)
    csv = write_csv(tmp_path / "l.csv", "file,label\na/0.png,X\na/1.png,Y\n")
    with pytest.raises(DataError, match=r"1 image\(s\) of the dataset have no row .* a/2.png"):
        resolve_labels(files, labels, csv_path=csv, min_images=1)
    csv = write_csv(tmp_path / "e.csv", "file,label\na/0.png,X\na/1.png,Y\na/2.png,\n")
    with pytest.raises(DataError, match=r"empty 'label' .* a/2.png"):
        resolve_labels(files, labels, csv_path=csv, min_images=1)
    csv = write_csv(tmp_path / "d.csv", "file,label\na/0.png,X\na/1.png,Y\na/2.png,X\na/2.png,Y\n")
    with pytest.raises(DataError, match="second label"):
        resolve_labels(files, labels, csv_path=csv, min_images=1)
