"""generate --label, interpolate --labels and evaluate --per-label through the real CLI entry point."""

from __future__ import annotations

import pytest

from artistry.cli.main import app
from helpers import TINY_FLAGS

TINY = [*TINY_FLAGS, "--quiet"]


@pytest.fixture
def env(image_folder, tmp_path, monkeypatch):
    monkeypatch.setenv("ARTISTRY_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    return image_folder, tmp_path


def _one_line_error(capsys, *needles):
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for needle in needles:
        assert needle in err, err


@pytest.fixture
def plain_run(env):
    folder, tmp = env
    assert app(["train", str(folder), *TINY, "--steps", "2", "--name", "plain"]) == 0
    return tmp / "runs" / "00000-plain"


@pytest.mark.parametrize(
    "argv, needles",
    [
        (["generate", "{run}", "--label", "a", "--out", "x"], ["--label:", "without --conditional"]),
        (["interpolate", "{run}", "--labels", "a,b", "--out", "m.gif"], ["--labels:", "without --conditional"]),
        (["interpolate", "{run}", "--label", "a", "--out", "m.gif"], ["--label:", "without --conditional"]),
        (["evaluate", "{run}", "--per-label", "--n", "10"], ["--per-label:", "without --conditional"]),
        (["interpolate", "{run}", "--labels", "a,b", "--seeds", "1,2", "--out", "m.gif"], ["--seeds and --labels"]),
        (["interpolate", "{run}", "--labels", "a,b", "--label", "a", "--out", "m.gif"], ["--label sets"]),
    ],
)
def test_label_flags_on_an_unconditional_run_are_one_clear_line(plain_run, capsys, argv, needles):
    capsys.readouterr()
    assert app([a.replace("{run}", str(plain_run)) for a in argv]) == 1
    _one_line_error(capsys, *needles)
