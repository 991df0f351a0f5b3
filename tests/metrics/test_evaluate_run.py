"""`artistry evaluate` and `--eval-every` on a tiny trained run.

Inception is replaced by pooled pixels (see PooledPixels) so these tests check the plumbing in
seconds: files written, counts and protocol stated, metrics logged, best checkpoint kept.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

import artistry
from artistry.cli.main import app
from artistry.training.callbacks.evaluate import STATE_KEY, Evaluate

from helpers import PooledPixels


@pytest.fixture
def trained_run(tiny_config):
    return artistry.train(tiny_config, progress=False)


def test_evaluate_command_writes_json_md_and_sheet(trained_run, stub_inception, capsys):
    assert app(["evaluate", str(trained_run), "--n", "12"]) == 0
    eval_dir = trained_run / "eval"
    names = sorted(p.name for p in eval_dir.iterdir())
    assert names == ["000000004-nearest.png", "000000004.json", "000000004.md"]
    report = json.loads((eval_dir / "000000004.json").read_text())
    assert (report["step"], report["n_generated"], report["n_real"], report["protocol"]) == (4, 12, 24, "legacy")
    assert report["checkpoint"].endswith(".safetensors")
    md = (eval_dir / "000000004.md").read_text()
    assert "generated images: 12" in md and "VGG16" in md
    assert "FID" in capsys.readouterr().out


def test_second_evaluation_only_extracts_the_generated_side(trained_run, stub_inception):
    assert app(["evaluate", str(trained_run), "--n", "12"]) == 0
    assert app(["evaluate", str(trained_run), "--n", "12", "--checkpoint", "4"]) == 0
    first, second = stub_inception.instances
    assert (first.images_seen, second.images_seen) == (12 + 24, 12)


def test_evaluate_with_held_out_data_calibrates_on_it(trained_run, stub_inception, tmp_path):
    held_out = tmp_path / "held_out"
    held_out.mkdir()
    rng = np.random.default_rng(5)
    for i in range(12):
        Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(held_out / f"h{i}.png")
    assert app(["evaluate", str(trained_run), "--n", "12", "--data", str(held_out)]) == 0
    report = json.loads((trained_run / "eval" / "000000004.json").read_text())
    assert report["n_real"] == 12
    assert "held-out" in report["memorization"]["calibration"]


def test_bad_flags_are_one_clear_line(trained_run, capsys):
    assert app(["evaluate", str(trained_run), "--protocol", "tf"]) == 1
    assert "--protocol" in capsys.readouterr().err
    assert app(["evaluate", str(trained_run), "--n", "3"]) == 1
    assert "--n" in capsys.readouterr().err


def test_eval_every_logs_plots_and_keeps_best(tiny_config, stub_inception):
    from artistry.data import prepare_dataset
    d = tiny_config.data
    dataset = prepare_dataset(d.path, size=d.size, cache_dir=d.cache_dir)
    tiny_config.train.steps = 6  # 48 images seen; evaluations at 16, 32, 48 (the end)
    callback = Evaluate(16, dataset.images, dataset.key, n=10, cache_dir=f"{d.cache_dir}/eval")
    run = artistry.train(tiny_config, callbacks=[callback], progress=False)

    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in records if "eval" in r]
    assert [r["step"] for r in evals] == [2, 4, 6]
    assert all(r["eval"]["n"] == 10 and r["eval"]["protocol"] == "legacy" for r in evals)
    assert (run / "eval" / "metrics.png").is_file()
    assert (run / "eval" / "000000006.json").is_file()

    best_fid = min(r["eval"]["fid"] for r in evals)
    loaded = artistry.load(run, checkpoint="best")
    assert loaded.step == next(r["step"] for r in evals if r["eval"]["fid"] == best_fid)
    from artistry.io import checkpoint as ckpt
    _, meta = ckpt.load(run / "checkpoints" / "best.safetensors")
    assert meta["extra"][STATE_KEY]["value"] == pytest.approx(best_fid)
    assert stub_inception.instances[0].images_seen == 24 + 3 * 10  # real side extracted once


def test_unknown_eval_metric_names_the_flag():
    from artistry.errors import ConfigError
    with pytest.raises(ConfigError, match="--eval-metric"):
        Evaluate(10, np.zeros((4, 3, 8, 8), np.uint8), metric="is")


def test_callback_from_config_follows_eval_flags(tiny_config):
    from types import SimpleNamespace

    from artistry.training.callbacks.evaluate import evaluate_callback
    dataset = SimpleNamespace(images=np.zeros((8, 3, 32, 32), np.uint8), key="k" * 64)
    assert evaluate_callback(tiny_config, dataset) is None
    tiny_config.train.eval_every, tiny_config.train.eval_n = 640, 50
    callback = evaluate_callback(tiny_config, dataset)
    assert (callback.every, callback.n, callback.metric, callback.dataset_key) == (640, 50, "fid", "k" * 64)
    assert str(callback.cache_dir).endswith("eval")


def test_budgeted_run_with_share_evaluations_stops_on_time_and_keeps_best(tiny_config, stub_inception,
                                                                         monkeypatch, capsys):
    import time

    import artistry.metrics.features as features
    import artistry.training.callbacks.evaluate as evaluate

    class SlowPooledPixels(PooledPixels):  # an evaluation takes over 1 s, like a (much) faster Inception
        def extract(self, images, *args, **kwargs):
            time.sleep(1.0)
            return super().extract(images, *args, **kwargs)

    monkeypatch.setattr(features, "InceptionFeatures", SlowPooledPixels)
    monkeypatch.setattr(evaluate, "ASSUMED_RATE", 1e6)  # affordable at half of a 6 s budget
    t = tiny_config.train
    t.steps, t.max_minutes, t.eval_at, t.eval_n, t.eval_metric = None, 0.1, "0.5", 10, "kid"
    started = time.monotonic()
    run = artistry.train(tiny_config, progress=False)
    wall = time.monotonic() - started
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in records if "eval" in r]
    assert len(evals) == 2  # at half the budget and at the end
    assert evals[0]["elapsed"] == pytest.approx(3.0, abs=0.6)
    _, meta = ckpt_load(run)
    assert meta["elapsed"] - evals[-1]["elapsed"] >= 1.0  # the final evaluation is charged to the run ...
    # ... and fits in the budget (give or take the last step's callbacks): training kept its time back
    assert meta["elapsed"] <= 6.0 + 0.7
    assert wall < 6.0 + 10 + 1.0  # the real side (once per dataset) and data prep are outside the budget
    best_kid = min(r["eval"]["kid"] for r in evals)
    loaded = artistry.load(run)  # "auto": the best checkpoint
    assert loaded.checkpoint_path.name == "best.safetensors"
    assert loaded.step == next(r["step"] for r in evals if r["eval"]["kid"] == best_kid)


def ckpt_load(run):
    from artistry.io import checkpoint as ckpt
    return ckpt.load(sorted((run / "checkpoints").glob("step-*.safetensors"))[-1])


def test_share_evaluation_is_skipped_when_it_would_dominate_a_short_run(tiny_config, stub_inception, capsys):
    t = tiny_config.train
    t.steps, t.eval_at, t.eval_n = 4, "0.5", 1000  # ~170 s of Inception against a sub-second run
    run = artistry.train(tiny_config, progress=False)
    assert "eval: skipped" in capsys.readouterr().err
    assert not (run / "eval").exists() and not (run / "checkpoints" / "best.safetensors").exists()
    assert artistry.load(run).checkpoint_path.name != "best.safetensors"
