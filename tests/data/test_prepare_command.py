"""`artistry prepare` through its own parser (the CLI main is tested elsewhere)."""

import argparse

import pytest

from artistry.cli.commands import prepare as prepare_command
from artistry.errors import ConfigError, DataError


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="artistry prepare")
    prepare_command.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_reports_counts_labels_skipped_files_and_the_cache(image_folder, tmp_path, capsys):
    args = parse(str(image_folder), "--size", "32", "--cache-dir", str(tmp_path / "cache"))
    assert prepare_command.run(args) == 0
    report = capsys.readouterr().out
    assert "12 images, 32x32 RGB, fit=crop" in report
    assert "labels (3): (top folder) 2, cats 6, dogs 4" in report
    assert "skipped 4 file(s):" in report and "1 corrupt or truncated image: dogs/broken.jpg" in report
    assert "warning: 6 image(s) smaller than 32px were upscaled" in report
    assert "(built)" in report

    assert prepare_command.run(args) == 0
    assert "(reused, nothing decoded)" in capsys.readouterr().out


def test_defaults_and_help_examples():
    args = parse("some/dir")
    assert (args.size, args.fit, args.channels, args.min_images, args.cache_dir) == (64, "crop", 3, 8, None)
    parser = argparse.ArgumentParser()
    prepare_command.add_arguments(parser)
    assert "artistry prepare" in parser.format_help()


def test_user_errors_are_artistry_errors(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        prepare_command.run(parse(str(tmp_path / "missing"), "--cache-dir", str(tmp_path)))
    with pytest.raises(ConfigError, match="--size"):
        prepare_command.run(parse(str(tmp_path), "--size", "4000", "--cache-dir", str(tmp_path)))
