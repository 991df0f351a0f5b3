"""The --epochs budget, and one bf16 training step (autocast math, fp32 weights and optimizer)."""

from __future__ import annotations

import math
from pathlib import Path

import torch

from artistry.build import build_model
from artistry.cli.main import app
from artistry.config import Config, resolve
from artistry.io import checkpoint as ckpt
from artistry.runtime import Runtime
from artistry.training.state import TrainState, build_optimizers
from artistry.training.step import train_step
from helpers import TINY_FLAGS


def test_epochs_budget_counts_passes_over_the_images_and_extends_on_resume(tiny_config, monkeypatch):
    """24 images at batch 8: an epoch is 3 steps. Counting epochs in steps (or stopping one
    batch early or late) gives another step count."""
    monkeypatch.setenv("ARTISTRY_CACHE", tiny_config.data.cache_dir)
    runs = tiny_config.train.runs_dir
    flags = [
        *TINY_FLAGS,
        "--quiet",
        "--runs-dir",
        runs,
    ]
    assert app(["train", tiny_config.data.path, *flags, "--epochs", "2", "--name", "ep"]) == 0
    run = next(Path(runs).iterdir())
    _, meta = ckpt.load(ckpt.list_checkpoints(run / "checkpoints")[-1][1])
    assert (meta["step"], meta["images_seen"], meta["config"]["train"]["epochs"]) == (6, 48, 2)
    assert app(["train", "--resume", str(run), "--epochs", "3", "--quiet"]) == 0
    _, meta = ckpt.load(ckpt.list_checkpoints(run / "checkpoints")[-1][1])
    assert (meta["step"], meta["images_seen"]) == (9, 72)


def test_a_bf16_step_computes_in_bf16_and_keeps_fp32_weights_and_optimizer_state():
    """Catches autocast not applied (fp32 activations) and weights cast to bf16 (master copies
    lost: small updates round away)."""
    cfg = Config()
    cfg.data.path, cfg.data.size, cfg.train.steps, cfg.train.precision = "x", 32, 1, "bf16"
    cfg.model.ngf = cfg.model.ndf = 4
    cfg.model.nz, cfg.train.batch = 8, 4
    cfg = resolve(cfg)
    torch.manual_seed(0)
    cpu = torch.device("cpu")
    runtime = Runtime(cpu, "bf16", channels_last=True)
    model, loss = build_model(cfg, runtime)
    state = TrainState(model, build_optimizers(cfg, model), None, torch.zeros(1, 8), torch.zeros(1, 3, 32, 32))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    seen = []
    for net in (model.G, model.D):
        conv = next(m for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)))
        conv.register_forward_hook(lambda m, i, out: seen.append(out.dtype))
    real = torch.rand(4, 3, 32, 32) * 2 - 1
    logs, drawn = train_step(state, loss.phases(), lambda: real, runtime.autocast, None)
    assert seen and set(seen) == {torch.bfloat16}
    assert drawn == 4 and logs and all(math.isfinite(float(v)) for v in logs.values())
    assert all(p.dtype == torch.float32 for p in model.parameters())
    changed = [k for k, v in model.state_dict().items() if v.is_floating_point() and not torch.equal(v, before[k])]
    assert any(k.startswith("G.") for k in changed) and any(k.startswith("D.") for k in changed)
    for opt in state.optimizers.values():
        moments = [s["exp_avg"] for s in opt.state.values()]
        assert moments and all(m.dtype == torch.float32 for m in moments)
