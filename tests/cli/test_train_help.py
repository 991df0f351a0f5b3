"""`artistry train --help` shows what a run gets: the default recipe's values where a recipe sets them."""

from __future__ import annotations

import json
import re

import pytest

from artistry.cli.main import app, build_parser
from artistry.config import resolve
from artistry.recipes import DEFAULT_RECIPE, RECIPES, config_from


def _train_flags() -> dict[str, str]:
    """dest -> help text of every `artistry train` option."""
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return {a.dest: a.help or "" for a in sub.choices["train"]._actions}


def _help_output(capsys) -> str:
    with pytest.raises(SystemExit):
        app(["train", "--help"])
    return " ".join(capsys.readouterr().out.split())  # argparse wraps lines; compare word by word


def test_help_shows_the_best_recipe_values_not_the_bare_dataclass_defaults(capsys):
    text = _help_output(capsys)
    assert "--mirror, --no-mirror also show D horizontally flipped images" in text
    for flag_value in (
        "small dataset) [best: True]",
        "no checkerboard artefacts) [best: resize]",
        "base width [best: 32]",
        "images per batch [best: 64]",
        "decay linearly to 0 [best: 0.2]",
    ):
        assert flag_value in text
    assert (
        "small dataset) [False]" not in text and "[transpose]" not in text
    )  # the bare defaults of --mirror, --upsample
    # options no recipe touches keep their plain defaults
    assert "training resolution in pixels (32, 64, 128, 256, 512, 1024; mlp up to 256) [64]" in text
    assert "how many step checkpoints to keep [3]" in text


def test_every_option_the_default_recipe_sets_shows_its_value():
    flags = _train_flags()
    for name, value in RECIPES[DEFAULT_RECIPE].items():
        assert flags[name].endswith(f"[{DEFAULT_RECIPE}: {value}]"), (name, flags[name])
    assert flags["size"].endswith("[64]") and "best:" not in flags["size"]


def test_the_values_in_the_help_are_what_a_run_without_flags_resolves_to():
    resolved = resolve(config_from("imgs", {})).flat()
    for name, text in _train_flags().items():
        shown = re.search(rf"\[{DEFAULT_RECIPE}: (.*)\]$", text)
        if shown:
            assert str(resolved[name]) == shown.group(1), name


def test_a_classic_user_sees_every_classic_value_with_dry_run(image_folder, capsys):
    assert app(["train", str(image_folder), "--recipe", "classic", "--dry-run"]) == 0
    shown = json.loads(capsys.readouterr().out)
    flat = {k: v for section in shown.values() if isinstance(section, dict) for k, v in section.items()}
    for name, value in RECIPES["classic"].items():
        assert flat[name] == value, name
    assert (flat["mirror"], flat["upsample"], flat["ngf"], flat["batch"]) == (False, "transpose", 64, 128)
    assert flat["recipe"] == "classic"
