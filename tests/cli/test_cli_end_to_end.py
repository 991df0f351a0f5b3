"""prepare -> train -> generate -> interpolate through the real CLI entry point, in tmp_path."""

import json

import numpy as np
import pytest
from PIL import Image

from artistry.cli.main import app
from artistry.io import checkpoint as ckpt
from artistry.io.metrics import read_records
from helpers import TINY_FLAGS

TINY = [*TINY_FLAGS, "--quiet"]


def test_prepare_train_generate_interpolate(env, capsys):
    folder, tmp = env
    assert app(["prepare", str(folder), "--size", "32"]) == 0
    assert app(["train", str(folder), *TINY, "--steps", "3", "--name", "e2e"]) == 0
    run = tmp / "runs" / "00000-e2e"
    assert (run / "config.json").is_file()
    assert app(["train", "--resume", str(run), "--steps", "5", "--quiet"]) == 0
    _, meta = ckpt.load(ckpt.list_checkpoints(run / "checkpoints")[-1][1])
    assert (meta["step"], meta["images_seen"]) == (5, 40)
    steps = [r["step"] for r in read_records(run / "metrics.jsonl") if "loss_D" in r]
    assert steps == sorted(set(steps)) and steps[-1] == 5  # continued from step 3, not from scratch
    assert app(["generate", str(run), "--n", "5", "--seed", "7", "--out", "gen", "--grid"]) == 0
    pngs = sorted((tmp / "gen").glob("seed*.png"))
    assert [p.name for p in pngs] == [f"seed{s:05d}.png" for s in range(7, 12)]
    assert Image.open(pngs[0]).size == (32, 32) and (tmp / "gen" / "grid.png").is_file()
    assert app(["generate", str(run), "--n", "5", "--seed", "7", "--out", "gen2"]) == 0
    assert np.array_equal(np.asarray(Image.open(pngs[3])), np.asarray(Image.open(tmp / "gen2" / pngs[3].name)))
    assert app(["interpolate", str(run), "--frames", "8", "--out", "walk.gif"]) == 0
    gif = Image.open(tmp / "walk.gif")
    assert gif.n_frames == 8


def test_dry_run_prints_the_resolved_config(env, capsys):
    folder, tmp = env
    assert app(["train", str(folder), "--loss", "bce", "--steps", "10", "--dry-run"]) == 0
    cfg = json.loads(capsys.readouterr().out)
    assert cfg["optim"]["lr_g"] == 2e-4 and cfg["optim"]["beta1"] == 0.5 and cfg["model"]["nz"] == 100
    assert not (tmp / "runs").exists()


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["train", "nowhere", "--steps", "1"], "nowhere"),
        (["train", "{folder}", "--size", "48", "--steps", "1"], "--size"),
        (["train", "{folder}", "--model", "gpt", "--steps", "1"], "--model"),
        (["train", "{folder}", "--loss", "nope", "--steps", "1"], "--loss"),
        (["train", "{folder}", "--batch", "0", "--steps", "1"], "--batch"),
        (["train", "--resume", "no-such-run"], "no-such-run"),
        (["generate", "no-such-run", "--out", "x"], "no-such-run"),
        (["generate", "{folder}", "--out", "x"], "config.json"),
    ],
)
def test_bad_input_is_one_clear_line(env, capsys, argv, needle):
    folder, _ = env
    argv = [a.replace("{folder}", str(folder)) for a in argv]
    code = app(argv)
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err and needle in err
    assert len(err.strip().splitlines()) == 1


def test_unknown_flag_is_a_usage_error(env, capsys):
    with pytest.raises(SystemExit) as e:
        app(["train", "x", "--wat"])
    assert e.value.code == 2 and "--wat" in capsys.readouterr().err


def test_unreadable_checkpoint_and_incompatible_run(env, capsys):
    folder, tmp = env
    assert app(["train", str(folder), *TINY, "--steps", "2", "--name", "r"]) == 0
    run = tmp / "runs" / "00000-r"
    ck = sorted((run / "checkpoints").glob("step-*.safetensors"))[-1]
    ck.write_bytes(b"garbage")
    assert app(["generate", str(run), "--out", "x"]) == 1
    assert ck.name in capsys.readouterr().err
    cfg = json.loads((run / "config.json").read_text())
    cfg["version"] = 99
    (run / "config.json").write_text(json.dumps(cfg))
    assert app(["generate", str(run), "--out", "x"]) == 1
    assert "incompatible" in capsys.readouterr().err
