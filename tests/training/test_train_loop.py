import json

import numpy as np
import pytest
import torch

import artistry
from artistry.config import resolve
from artistry.errors import ConfigError
from artistry.io import checkpoint as ckpt


def _weights(run_dir):
    tensors, meta = ckpt.load(ckpt.list_checkpoints(run_dir / "checkpoints")[-1][1])
    return tensors, meta


def test_run_directory_has_everything(tiny_config):
    run = artistry.train(tiny_config, progress=False)
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["data"]["size"] == 32 and cfg["loss"]["loss"] == "bce"
    assert (run / "manifest.json").is_file()
    assert (run / "timelapse.gif").is_file() and (run / "losses.png").is_file()
    samples = sorted((run / "samples").glob("*.png"))
    assert samples[0].name == "000000000.png" and len(samples) >= 2  # before training + end
    records = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    lines = [r for r in records if "loss_D" in r]  # other callbacks log their own records too
    assert lines and all(np.isfinite(r["loss_D"]) and np.isfinite(r["loss_G"]) for r in lines)
    assert lines[-1]["step"] == 4 and lines[-1]["images_seen"] == 32
    tensors, meta = _weights(run)
    assert meta["step"] == 4 and meta["images_seen"] == 32


def test_training_changes_the_weights(tiny_config):
    torch.manual_seed(tiny_config.train.seed)
    from artistry.build import build_model

    before, _ = build_model(resolve(tiny_config), torch.device("cpu"))
    run = artistry.train(tiny_config, progress=False)
    tensors, _ = _weights(run)
    changed = [
        k
        for k, v in before.state_dict().items()
        if v.dtype.is_floating_point and not torch.equal(v, tensors[f"model.{k}"])
    ]
    assert any(k.startswith("G.") for k in changed) and any(k.startswith("D.") for k in changed)


def test_resume_matches_an_uninterrupted_run(tiny_config, tmp_path):
    tiny_config.train.steps = 6
    tiny_config.train.ema = True
    tiny_config.data.mirror = True
    tiny_config.train.name = "full"
    full = artistry.train(tiny_config, progress=False)

    tiny_config.train.steps = 3
    tiny_config.train.name = "split"
    split = artistry.train(tiny_config, progress=False)
    artistry.train(resume=split, overrides={"steps": 6}, progress=False)

    a, meta_a = _weights(full)
    b, meta_b = _weights(split)
    assert meta_a["step"] == meta_b["step"] == 6
    assert meta_a["images_seen"] == meta_b["images_seen"]
    assert meta_a["loader"] == meta_b["loader"]
    for k in a:
        if k.startswith(("model.", "ema.", "optim.")):
            torch.testing.assert_close(a[k], b[k], rtol=1e-6, atol=1e-7, msg=k)


def test_generate_is_deterministic_per_seed(tiny_config):
    run = artistry.train(tiny_config, progress=False)
    g = artistry.load(run)
    a = g.generate(4, seed=7)
    b = g.generate(4, seed=7)
    assert a.dtype == np.uint8 and a.shape == (4, 3, 32, 32)
    assert np.array_equal(a, b)
    assert np.array_equal(g.generate(2, seed=9), a[2:4])  # image i comes from seed + i
    assert not np.array_equal(g.generate(1, seed=100), a[:1])


def test_resume_refuses_to_change_architecture(tiny_config):
    run = artistry.train(tiny_config, progress=False)
    with pytest.raises(ConfigError, match="--ngf"):
        artistry.train(resume=run, overrides={"ngf": 16}, progress=False)


def test_max_minutes_budget_stops(tiny_config):
    tiny_config.train.steps = None
    tiny_config.train.max_minutes = 0.02  # 1.2 s
    run = artistry.train(tiny_config, progress=False)
    _, meta = _weights(run)
    assert 1.2 <= meta["elapsed"] < 15


def test_a_time_budget_smaller_than_set_up_still_trains_one_step(tiny_config):
    tiny_config.train.steps = None
    tiny_config.train.max_minutes = 1e-6  # spent before the first step on any machine
    run = artistry.train(tiny_config, progress=False)
    assert _weights(run)[1]["step"] == 1
    artistry.train(resume=run, progress=False)  # the budget is spent: resuming adds nothing
    assert _weights(run)[1]["step"] == 1


def test_ema_half_life_ramps_up_early():
    from artistry.config import Config
    from artistry.training.state import ema_beta

    cfg = Config()
    cfg.train.batch, cfg.train.ema_kimg = 32, 10.0
    early, late = ema_beta(cfg, 640), ema_beta(cfg, 10_000_000)
    assert early < late  # early on the average forgets faster
    assert abs(late - 0.5 ** (32 / 10_000)) < 1e-12
    assert abs(early - 0.5 ** (32 / 32)) < 1e-12  # half-life = 5% of 640 images


@pytest.mark.parametrize("ada_target", [0.0, 0.6])
def test_diffaugment_run_trains_and_resumes_exactly(tiny_config, ada_target):
    tiny_config.train.augment = "color,translation,cutout"
    tiny_config.train.ada_target, tiny_config.train.ada_kimg = ada_target, 0.05  # p moves 0.16 a step
    tiny_config.train.steps, tiny_config.train.name = 4, "full"
    full = artistry.train(tiny_config, progress=False)
    tiny_config.train.steps, tiny_config.train.name = 2, "split"
    split = artistry.train(tiny_config, progress=False)
    artistry.train(resume=split, overrides={"steps": 4}, progress=False)
    a, _ = _weights(full)
    b, _ = _weights(split)
    for k in a:
        if k.startswith("model."):
            torch.testing.assert_close(a[k], b[k], rtol=1e-6, atol=1e-7, msg=k)
