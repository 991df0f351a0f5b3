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


def test_budgeted_run_with_share_evaluations_stops_on_time_and_keeps_best(tiny_config, stub_inception, monkeypatch):
    """On a fake clock: each step takes 0.05 s, each Inception pass 1 s, the budget is 6 s."""
    from types import SimpleNamespace

    import artistry.metrics.features as features
    import artistry.training.callbacks.evaluate as evaluate
    import artistry.training.trainer as trainer_module
    from artistry.training.callbacks.base import Callback

    clock = SimpleNamespace(now=1000.0)
    fake_time = SimpleNamespace(monotonic=lambda: clock.now)
    monkeypatch.setattr(trainer_module, "time", fake_time)
    monkeypatch.setattr(evaluate, "time", fake_time)

    class SlowPooledPixels(PooledPixels):
        def extract(self, images, *args, **kwargs):
            clock.now += 1.0
            return super().extract(images, *args, **kwargs)

    class StepTakesTime(Callback):
        def on_step_end(self, trainer, logs):
            clock.now += 0.05

    monkeypatch.setattr(features, "InceptionFeatures", SlowPooledPixels)
    monkeypatch.setattr(evaluate, "ASSUMED_RATE", {"cpu": 1e6})  # affordable at half the budget
    t = tiny_config.train
    t.steps, t.max_minutes, t.eval_at, t.eval_n, t.eval_metric = None, 0.1, "0.5", 10, "kid"
    run = artistry.train(tiny_config, callbacks=[StepTakesTime()], progress=False)

    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in records if "eval" in r]
    # at 3 s (step ~61); it takes 1 s; 1 s is then kept back, so training stops at 5 s (step ~81)
    first, last = (r["step"] for r in evals)
    assert 59 <= first <= 63 and 18 <= last - first <= 21
    _, meta = ckpt_load(run)
    assert meta["elapsed"] == pytest.approx(6.0, abs=0.06)  # the final evaluation fits the budget
    assert meta["extra"][evaluate.TIMING_KEY] == {"step": last, "seconds": pytest.approx(1.0)}
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


def test_resumed_run_keeps_its_evaluation_record(tiny_config, stub_inception, monkeypatch):
    import artistry.training.callbacks.evaluate as evaluate

    monkeypatch.setattr(evaluate, "ASSUMED_RATE", {"cpu": 1e6})
    t = tiny_config.train
    t.steps, t.eval_at, t.eval_n = 4, "0.5", 10
    run = artistry.train(tiny_config, progress=False)

    def eval_steps():
        lines = (run / "metrics.jsonl").read_text().splitlines()
        return [r["step"] for r in map(json.loads, lines) if "eval" in r]

    assert eval_steps() == [2, 4]
    artistry.train(resume=run, progress=False)  # nothing left to train: step 4 is not evaluated again
    assert eval_steps() == [2, 4]
    artistry.train(resume=run, overrides={"steps": 6}, progress=False)  # the end of the longer run is
    assert eval_steps() == [2, 4, 6]
    _, meta = ckpt_load(run)
    assert meta["extra"][evaluate.TIMING_KEY]["step"] == 6
    assert meta["extra"][STATE_KEY]["step"] in (2, 4, 6)


def test_models_that_cannot_sample_refuse_evaluation_flags(tiny_config):
    from artistry.config import resolve
    from artistry.errors import ConfigError

    tiny_config.model.model, tiny_config.train.eval_every = "dae", 100
    with pytest.raises(ConfigError, match="--eval-every: the dae model does not generate"):
        resolve(tiny_config)
