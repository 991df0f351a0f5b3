"""A run moves between machines: a GPU run resumes, generates and evaluates on a CPU-only
machine, and a checkpoint's tensors land on the device the run now computes on."""

from __future__ import annotations

import json

import pytest
import torch

import artistry
from artistry.build import build_model
from artistry.config import resolve
from artistry.errors import ConfigError
from artistry.io import checkpoint as ckpt
from artistry.runtime import Runtime
from artistry.training.checkpointing import restore_state
from artistry.training.state import TrainState, build_optimizers, make_ema


def _pretend_trained_on_a_gpu(run):
    """Rewrite config.json as a `--device cuda` run would have left it."""
    path = run / "config.json"
    cfg = json.loads(path.read_text())
    cfg["train"]["device"] = "cuda"
    path.write_text(json.dumps(cfg))


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def test_a_gpu_run_resumes_generates_and_evaluates_on_a_cpu_only_machine(tiny_config, no_gpu, capsys, stub_inception):
    tiny_config.train.ema = True
    run = artistry.train(tiny_config, progress=False)
    _pretend_trained_on_a_gpu(run)
    artistry.train(resume=run, overrides={"steps": 6}, progress=False)
    assert "continuing with --device auto" in capsys.readouterr().err
    loaded = artistry.load(run)
    assert loaded.step == 6 and loaded.device == torch.device("cpu")
    assert loaded.generate(3).shape == (3, 3, 32, 32)
    from artistry.cli.main import app

    assert app(["evaluate", str(run), "--n", "10", "--device", "auto"]) == 0
    assert json.loads((run / "eval" / "000000006.json").read_text())["n_generated"] == 10


def test_a_device_asked_for_on_resume_must_exist(tiny_config, no_gpu):
    run = artistry.train(tiny_config, progress=False)
    with pytest.raises(ConfigError, match="--device"):
        artistry.train(resume=run, overrides={"steps": 6, "device": "cuda"}, progress=False)
    artistry.train(resume=run, overrides={"steps": 5, "device": "cpu", "precision": "fp32"}, progress=False)
    assert artistry.load(run).step == 5


def test_what_a_run_is_cannot_change_on_resume(tiny_config):
    run = artistry.train(tiny_config, progress=False)
    with pytest.raises(ConfigError, match="--ngf"):
        artistry.train(resume=run, overrides={"ngf": 16}, progress=False)


@pytest.mark.filterwarnings("ignore:.*meta parameter:UserWarning")  # loading values into meta is a no-op
def test_every_restored_tensor_lands_on_the_runs_device(tiny_config):
    """The CUDA crash ("Input type (torch.FloatTensor) and weight type (torch.cuda.FloatTensor)"):
    fixed.z came back on the CPU while the model was on the GPU. The meta device stands in for
    the GPU here: checkpoint tensors load on the CPU, the model lives elsewhere."""
    tiny_config.train.ema = True
    run = artistry.train(tiny_config, progress=False)
    path = ckpt.list_checkpoints(run / "checkpoints")[-1][1]
    cfg = resolve(tiny_config)
    model, _ = build_model(cfg, Runtime(torch.device("meta")))
    state = TrainState(
        model, build_optimizers(cfg, model), make_ema(model), torch.zeros(1, cfg.model.nz), torch.zeros(1, 3, 32, 32)
    )
    restore_state(path, state)
    assert state.fixed_z.device.type == "meta" and state.fixed_real.device.type == "meta"
    assert state.fixed_z.shape == (cfg.train.n_samples, cfg.model.nz)
    for opt in state.optimizers.values():
        for per_param in opt.state.values():
            for key, value in per_param.items():
                if key != "step":  # Adam keeps its step counter on the host unless fused
                    assert value.device.type == "meta", key
