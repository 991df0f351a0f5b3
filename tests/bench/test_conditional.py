"""Issue 27's measurement (bench.conditional and benchmarks/conditional_quality.py) on tiny runs."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from artistry.cli.main import app
from artistry.errors import ConfigError
from helpers import TINY_FLAGS, write_image_folder

TINY = [*TINY_FLAGS, "--quiet", "--steps", "2"]
SCRIPT = Path(__file__).parents[2] / "benchmarks" / "conditional_quality.py"


@pytest.fixture
def runs(tmp_path, monkeypatch):
    monkeypatch.setenv("ARTISTRY_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    folder = write_image_folder(tmp_path / "styles", n=110, labels=("Realism", "Ukiyo-e"))  # 55 each
    assert app(["train", str(folder), *TINY, "--conditional", "--min-label-images", "2", "--name", "cond"]) == 0
    assert app(["train", str(folder), *TINY, "--name", "plain"]) == 0
    return folder, tmp_path / "runs" / "00000-cond", tmp_path / "runs" / "00001-plain"


def _script():
    spec = importlib.util.spec_from_file_location("conditional_quality", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_script_compares_the_runs_and_writes_the_report(runs, stub_inception, tmp_path):
    from artistry.bench.machine import describe_machine

    folder, cond, plain = runs
    out = tmp_path / "results" / "cond.md"
    argv = ["--cond-run", str(cond), "--uncond-run", str(plain), "--data", str(folder), "--n", "40", "--out", str(out)]
    assert _script().main(argv) == 0
    results = json.loads(out.with_suffix(".json").read_text())
    c, u = results["runs"]["conditional"], results["runs"]["unconditional"]
    assert results["goals"]["fid_ratio"]["value"] == pytest.approx(c["fid"] / u["fid"])
    assert results["goals"]["per_label_fid"] == {"value": "2 labels", "missing": [], "met": True}
    assert list(c["per_label"]["labels"]) == ["Realism", "Ukiyo-e"] == list(u["per_label"]["labels"])
    assert c["per_label"]["labels"]["Realism"]["n_generated"] == 20 and c["label_agreement"]["n"] == 40
    ratio = c["label_agreement"]["overall"] / results["classifier"]["accuracy"]
    assert results["goals"]["agreement_ratio"]["value"] == pytest.approx(ratio)
    text = out.read_text()
    for needle in (
        f"machine: {describe_machine()}",  # names the CPU's speed flags and bf16
        "## Goals",
        "## Per label",
        "| Ukiyo-e | 55 | 20 |",
        "conditional_quality.py",
    ):
        assert needle in text, needle
    assert (cond / "eval" / "conditional-bench.md").is_file() and (plain / "eval" / "conditional-bench.json").is_file()


def test_runs_must_be_conditional_and_unconditional_on_the_same_data(runs, stub_inception, tmp_path, capsys):
    from artistry.bench.conditional import run_conditional_quality

    folder, cond, plain = runs
    with pytest.raises(ConfigError, match="--cond-run: .* without --conditional"):
        run_conditional_quality(plain, plain, n=20)
    with pytest.raises(ConfigError, match="--uncond-run: .* with labels"):
        run_conditional_quality(cond, cond, n=20)
    other = write_image_folder(tmp_path / "other", n=30, seed=4)
    assert app(["train", str(other), *TINY, "--name", "other"]) == 0
    with pytest.raises(ConfigError, match="--uncond-run: .* other images"):
        run_conditional_quality(cond, tmp_path / "runs" / "00002-other", n=20)
    assert _script().main(["--uncond-run", str(plain)]) == 1  # nothing to train the conditional run on
    assert "--data" in capsys.readouterr().err
