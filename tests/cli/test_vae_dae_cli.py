"""VAE, DAE and post-processing through the real CLI entry point, in tmp_path."""

import numpy as np
import pytest
from PIL import Image

from artistry.cli.main import app

TINY = [
    "--size",
    "32",
    "--ngf",
    "8",
    "--ndf",
    "8",
    "--batch",
    "8",
    "--precision",
    "fp32",
    "--sample-every",
    "1000",
    "--n-samples",
    "4",
    "--quiet",
]


def _pngs(folder):
    return sorted(folder.rglob("*.png"))


def _one_line_error(capsys, needle):
    err = capsys.readouterr().err
    assert "Traceback" not in err and needle in err and len(err.strip().splitlines()) == 1, err


def test_vae_train_generate_interpolate_between_images(env, capsys):
    folder, tmp = env
    assert (
        app(
            [
                "train",
                str(folder),
                "--model",
                "vae",
                "--latent",
                "16",
                "--beta",
                "0.5",
                "--kl-warmup",
                "16",
                *TINY,
                "--steps",
                "3",
                "--name",
                "v",
            ]
        )
        == 0
    )
    run = tmp / "runs" / "00000-v"
    grid = Image.open(sorted((run / "samples").glob("*.png"))[-1])
    assert grid.size == (2 + 2 * 34, 2 + 3 * 34)  # 2 prior samples, then 2 input|output pairs
    assert (run / "timelapse.gif").is_file() and (run / "losses.png").is_file()
    assert app(["generate", str(run), "--n", "3", "--out", "gen"]) == 0
    assert [Image.open(p).size for p in _pngs(tmp / "gen")] == [(32, 32)] * 3
    assert app(["interpolate", str(run), "--frames", "4", "--out", "walk.gif"]) == 0
    a, b = _pngs(folder)[:2]
    assert app(["interpolate", str(run), "--between", str(a), str(b), "--frames", "6", "--out", "ab"]) == 0
    frames = [np.asarray(Image.open(p)) for p in _pngs(tmp / "ab")]
    assert len(frames) == 6 and frames[0].shape == (32, 32, 3)
    capsys.readouterr()
    assert app(["interpolate", str(run), "--between", str(a), "--out", "x.gif"]) == 1
    _one_line_error(capsys, "--between")


def test_greyscale_end_to_end(env):
    folder, tmp = env
    assert (
        app(
            [
                "train",
                str(folder),
                "--model",
                "vae",
                "--channels",
                "1",
                "--latent",
                "8",
                *TINY,
                "--steps",
                "2",
                "--name",
                "g",
            ]
        )
        == 0
    )
    assert app(["generate", str(tmp / "runs" / "00000-g"), "--n", "2", "--out", "gen", "--bw"]) == 0
    for p in _pngs(tmp / "gen"):
        im = Image.open(p)
        assert im.mode == "L" and set(np.unique(np.asarray(im))) <= {0, 255}


def test_dae_train_then_postprocess_and_generate_with_denoise(env, capsys):
    folder, tmp = env
    assert (
        app(
            [
                "train",
                str(folder),
                "--model",
                "dae",
                "--noise",
                "gaussian:0.2,saltpepper:0.05,blur,mask",
                *TINY,
                "--steps",
                "2",
                "--name",
                "d",
            ]
        )
        == 0
    )
    dae = tmp / "runs" / "00000-d"
    grid = Image.open(sorted((dae / "samples").glob("*.png"))[-1])
    assert grid.size == (2 + 12 * 34, 2 + 34)  # one row: 4 x (noisy | cleaned | original)
    capsys.readouterr()
    assert app(["generate", str(dae), "--out", "x"]) == 1
    _one_line_error(capsys, "postprocess --denoise")

    src = tmp / "in"
    (src / "sub").mkdir(parents=True)
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (20, 30, 3), dtype=np.uint8)).save(src / "c.png")
    Image.fromarray(np.full((16, 16), 200, np.uint8)).save(src / "sub" / "g.jpg")
    assert (
        app(
            [
                "postprocess",
                str(src),
                "--out",
                "out",
                "--denoise",
                str(dae),
                "--upscale",
                "2",
                "--bw",
                "--threshold",
                "0.5",
                "--contour",
            ]
        )
        == 0
    )
    c, g = Image.open(tmp / "out" / "c.png"), Image.open(tmp / "out" / "sub" / "g.png")
    assert (c.mode, c.size, g.mode, g.size) == ("RGB", (60, 40), "L", (32, 32))
    assert set(np.unique(np.asarray(c))) <= {0, 255}

    assert app(["train", str(folder), "--model", "vae", "--latent", "8", *TINY, "--steps", "1", "--name", "v"]) == 0
    vae = tmp / "runs" / "00001-v"
    assert (
        app(["generate", str(vae), "--n", "2", "--out", "gen", "--denoise", str(dae), "--contour", "--upscale", "2"])
        == 0
    )
    assert [Image.open(p).size for p in _pngs(tmp / "gen")] == [(64, 64)] * 2
    capsys.readouterr()
    assert app(["postprocess", str(src), "--out", "o2", "--denoise", str(vae)]) == 1
    _one_line_error(capsys, "--model dae")


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["train", "{folder}", "--model", "dae", "--noise", "gaussian:0.2,fog", "--steps", "1"], "--noise"),
        (["train", "{folder}", "--model", "dae", "--loss", "bce", "--steps", "1"], "--loss"),
        (["train", "{folder}", "--model", "dcgan", "--loss", "elbo", "--steps", "1"], "--loss"),
        (["postprocess", "{folder}", "--out", "o", "--bw", "--threshold", "2"], "--threshold"),
        (["postprocess", "{folder}", "--out", "o"], "--bw"),
        (["postprocess", "nowhere", "--out", "o", "--bw"], "nowhere"),
        (["postprocess", "{folder}", "--out", "o", "--denoise", "no-such-run"], "no-such-run"),
    ],
)
def test_bad_input_is_one_clear_line(env, capsys, argv, needle):
    folder, _ = env
    assert app([a.replace("{folder}", str(folder)) for a in argv]) == 1
    _one_line_error(capsys, needle)
