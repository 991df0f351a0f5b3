"""generate --label, interpolate --labels and evaluate --per-label through the real CLI entry point."""

from __future__ import annotations

import pytest

from artistry.cli.main import app
from helpers import TINY_FLAGS

TINY = [*TINY_FLAGS, "--quiet"]


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


LABELS = ("Art Nouveau", "Ukiyo-e")  # a space and a dash, as real style names have


@pytest.fixture
def cond_run(env):
    from helpers import write_image_folder

    _, tmp = env
    folder = write_image_folder(tmp / "styles", n=104, labels=LABELS)  # 52 per label: both get per-label rows
    argv = ["train", str(folder), *TINY, "--steps", "2", "--conditional", "--min-label-images", "2", "--name", "c"]
    assert app(argv) == 0
    return tmp / "runs" / "00000-c"


def _png(path):
    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(path))


def test_generate_by_label_and_blend_match_the_library(cond_run, tmp_path):
    import artistry

    assert app(["generate", str(cond_run), "--label", "Ukiyo-e", "--n", "3", "--seed", "5", "--out", "u"]) == 0
    spec = "0.25*art nouveau+0.75*Ukiyo-e"
    assert app(["generate", str(cond_run), "--label", spec, "--n", "3", "--seed", "5", "--out", "blend"]) == 0
    assert app(["generate", str(cond_run), "--label", "Ukiyo-e", "--n", "2"]) == 0  # the command: no --out
    assert sorted(p.name for p in (cond_run / "generated").iterdir()) == ["seed00000.png", "seed00001.png"]
    loaded = artistry.load(cond_run)
    assert loaded.label_names == list(LABELS)
    import torch

    by_index = loaded.generate(3, seed=5, labels=torch.tensor([1, 1, 1]))
    blended = loaded.generate(3, seed=5, labels=torch.tensor([[0.25, 0.75]] * 3))
    for i in range(3):
        assert (_png(tmp_path / "u" / f"seed{5 + i:05d}.png") == by_index[i].transpose(1, 2, 0)).all()
        assert (_png(tmp_path / "blend" / f"seed{5 + i:05d}.png") == blended[i].transpose(1, 2, 0)).all()


def test_unknown_label_lists_the_known_ones(cond_run, capsys):
    capsys.readouterr()
    assert app(["generate", str(cond_run), "--label", "0.5*Cubism+0.5*Ukiyo-e", "--out", "x"]) == 1
    _one_line_error(capsys, "--label: unknown label 'Cubism'; this run knows: Art Nouveau, Ukiyo-e")
    assert app(["generate", str(cond_run), "--label", "x*Ukiyo-e", "--out", "x"]) == 1
    _one_line_error(capsys, "--label:", "not a number")


def test_interpolate_labels_keeps_the_noise_and_ends_on_each_label(cond_run, tmp_path):
    assert (
        app(
            ["interpolate", str(cond_run), "--labels", "Art Nouveau,Ukiyo-e", "--seed", "3", "--frames", "5"]
            + [
                "--out",
                "morph",
            ]
        )
        == 0
    )
    frames = sorted((tmp_path / "morph").glob("frame*.png"))
    assert len(frames) == 5
    for label, frame in (("Art Nouveau", frames[0]), ("Ukiyo-e", frames[-1])):
        assert app(["generate", str(cond_run), "--label", label, "--n", "1", "--seed", "3", "--out", label]) == 0
        assert (_png(frame) == _png(tmp_path / label / "seed00003.png")).all()
    assert (_png(frames[0]) != _png(frames[-1])).any()  # the label changes the image, even after two steps
    assert app(["interpolate", str(cond_run), "--labels", "Ukiyo-e,Art Nouveau,Ukiyo-e", "--out", "m.gif"]) == 0


def test_a_seed_walk_keeps_one_label(cond_run, tmp_path, capsys):
    # both labels hold 52 images: the most frequent is the first in label order, Art Nouveau
    assert app(["interpolate", str(cond_run), "--seeds", "3,4", "--frames", "4", "--out", "walk"]) == 0
    assert "with label Art Nouveau (the most frequent" in capsys.readouterr().err
    assert app(["generate", str(cond_run), "--label", "Art Nouveau", "--n", "1", "--seed", "3", "--out", "a"]) == 0
    assert (_png(tmp_path / "walk" / "frame00000.png") == _png(tmp_path / "a" / "seed00003.png")).all()
    assert (
        app(["interpolate", str(cond_run), "--seeds", "3,4", "--frames", "4", "--label", "Ukiyo-e", "--out", "u"]) == 0
    )
    assert app(["generate", str(cond_run), "--label", "Ukiyo-e", "--n", "1", "--seed", "3", "--out", "b"]) == 0
    assert (_png(tmp_path / "u" / "frame00000.png") == _png(tmp_path / "b" / "seed00003.png")).all()


def test_evaluate_per_label_reports_each_label_and_agreement(cond_run, stub_inception, capsys):
    import json

    capsys.readouterr()
    assert app(["evaluate", str(cond_run), "--per-label", "--n", "30"]) == 0
    out = capsys.readouterr().out
    assert "label agreement" in out and "| Ukiyo-e | 52 | 15 |" in out
    report = json.loads((cond_run / "eval" / "000000002.json").read_text())
    assert report["n_generated"] == 30 and report["n_real"] == 104
    assert list(report["per_label"]["labels"]) == list(LABELS) and report["per_label"]["left_out"] == {}
    agreement = report["label_agreement"]
    assert {row["n"] for row in agreement["per_label"].values()} == {15}
    assert agreement["classifier"]["n_held_out"] == 2 * round(0.2 * 52)
    assert 0 <= agreement["overall"] <= 1
    md = (cond_run / "eval" / "000000002.md").read_text()
    assert "## Per label" in md and "## Label agreement" in md
    # a second evaluation reuses the real features and the classifier
    assert app(["evaluate", str(cond_run), "--per-label", "--n", "30"]) == 0
    assert stub_inception.instances[-1].images_seen == 30
    assert "label classifier: cached" in capsys.readouterr().err


def test_a_conditional_vae_walks_between_images_with_one_label(env, capsys):
    """--between on a conditional VAE encodes and decodes with one label: --label, else the most frequent."""
    import artistry
    from helpers import write_image_folder

    _, tmp = env
    folder = write_image_folder(tmp / "styles", n=20, labels=LABELS)  # ties: the first label counts as most frequent
    argv = ["train", str(folder), *TINY, "--model", "vae", "--steps", "2", "--conditional"]
    assert app([*argv, "--min-label-images", "2", "--name", "cvae"]) == 0
    run = tmp / "runs" / "00000-cvae"
    a, b = sorted(p for p in folder.rglob("*.png"))[:2]
    between = ["interpolate", str(run), "--between", str(a), str(b), "--frames", "4"]
    assert app([*between, "--label", "Ukiyo-e", "--out", "u"]) == 0
    assert "with label Ukiyo-e" in capsys.readouterr().err
    assert app([*between, "--out", "top"]) == 0
    loaded = artistry.load(run)
    top = loaded.label_names[int(loaded.label_frequencies.argmax())]
    assert f"with label {top} (the most frequent" in capsys.readouterr().err
    u, t = (sorted((tmp / d).glob("frame*.png")) for d in ("u", "top"))
    assert len(u) == len(t) == 4
    if top != "Ukiyo-e":  # a different label encodes and decodes differently
        assert any((_png(x) != _png(y)).any() for x, y in zip(u, t))
