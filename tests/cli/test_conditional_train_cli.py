"""`artistry train --conditional / --labels / --balanced` through the real CLI entry point."""

import json

import pytest

from artistry.cli.main import app
from helpers import TINY_FLAGS

TINY = [*TINY_FLAGS, "--quiet", "--steps", "2"]


def test_train_conditional_balanced_and_resume(env):
    folder, tmp = env
    argv = ["train", str(folder), *TINY, "--conditional", "--balanced", "--min-label-images", "5", "--name", "c"]
    assert app(argv) == 0
    run = tmp / "runs" / "00000-c"
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["data"]["conditional"] and cfg["data"]["balanced"] and cfg["data"]["label_names"] == ["a", "b"]
    assert app(["train", "--resume", str(run), "--steps", "3", "--quiet"]) == 0


def test_labels_from_a_csv_relative_to_the_working_folder(env):
    folder, tmp = env
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.png"))
    (tmp / "l.csv").write_text("file,kind\n" + "".join(f"{f},k{i % 3}\n" for i, f in enumerate(files)))
    assert (
        app(
            [
                "train",
                str(folder),
                *TINY,
                "--labels",
                "l.csv",
                "--label-column",
                "kind",
                "--min-label-images",
                "5",
                "--name",
                "csv",
            ]
        )
        == 0
    )
    cfg = json.loads((tmp / "runs" / "00000-csv" / "config.json").read_text())
    assert cfg["data"]["label_names"] == ["k0", "k1", "k2"] and cfg["data"]["labels"] == str(tmp / "l.csv")


@pytest.mark.parametrize(
    "extra, needle",
    [
        (["--labels", "missing.csv"], "--labels: file not found"),
        (["--labels", "l.csv", "--label-column", "style"], "its columns: file, kind"),
        (["--conditional"], "at least 2 labels with 20+ images"),  # 12 + 12 images: both merged into 'other'
        (["--balanced"], "--balanced"),
        (["--conditional", "--model", "mlp"], "--conditional: the mlp model"),
    ],
)
def test_bad_label_options_are_one_line(env, capsys, extra, needle):
    folder, tmp = env
    (tmp / "l.csv").write_text("file,kind\n")
    assert app(["train", str(folder), *TINY, *extra]) == 1
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
