"""The same steps on the CPU and on CUDA, from identical weights, batches and random numbers,
give the same losses and gradients within a stated tolerance: every family, loss and option.

Skipped where there is no CUDA GPU (CI has none; `scripts/gpu_check.sh` runs these on one).
Random numbers come from the CPU generator on both sides (every `torch.rand*` call is drawn on
the CPU, then moved), so the only differences left are the devices' arithmetic:

- fp32: CUDA convolutions use TF32 (10-bit mantissa) as a GPU user runs them, so losses agree to
  2e-2 relative and gradients to a cosine of 0.999.
- bf16 autocast: losses to 5e-2 relative, gradients to a cosine of 0.99.
After two steps Adam has moved each weight by at most ~2 lr, so weights agree to 3 lr absolute.
"""

from __future__ import annotations

import copy

import pytest
import torch

from artistry.build import build_model
from artistry.config import resolve
from artistry.data.augment import DiffAugment
from artistry.runtime import Runtime
from artistry.training.state import TrainState, build_optimizers, make_ema
from artistry.training.step import train_step

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (scripts/gpu_check.sh)")

TOLERANCE = {"fp32": (2e-2, 0.999), "bf16": (5e-2, 0.99)}  # (loss rtol, gradient cosine)

CASES = [
    ("dcgan", "bce", {}),
    ("dcgan", "bce", {"mbstd": True, "upsample": "resize", "ema": True, "augment": "color,translation,cutout"}),
    ("dcgan", "bce", {"pack": 2, "mbdisc": 4, "fm": 0.1, "r1": 1.0, "label_smoothing": 0.1}),
    ("dcgan", "wgan", {}),
    ("dcgan", "wgan-gp", {}),
    ("dcgan", "hinge", {"ema": True}),
    ("mlp", "bce", {"mbstd": True}),
    ("vae", "elbo", {}),
    ("dae", "denoise", {}),
]

RANDOM_FUNCTIONS = ("rand", "randn", "randint", "rand_like", "randn_like")


@pytest.fixture
def cpu_random_numbers(monkeypatch):
    """Every torch.rand* call draws on the CPU (global CPU generator) and moves the result."""
    for name in RANDOM_FUNCTIONS:
        original = getattr(torch, name)
        if name.endswith("_like"):

            def drawn(x, *args, _original=original, **kwargs):
                kwargs.pop("device", None)
                return _original(x.cpu(), *args, **kwargs).to(x.device)
        else:

            def drawn(*args, _original=original, **kwargs):
                device = kwargs.pop("device", None)
                out = _original(*args, **kwargs)
                return out.to(device) if device is not None else out

        monkeypatch.setattr(torch, name, drawn)


def _build(cfg, runtime, weights=None):
    model, loss = build_model(cfg, runtime)
    if weights is not None:
        model.load_state_dict(weights)
    if cfg.train.augment:
        model.augment = DiffAugment(cfg.train.augment)
    ema = make_ema(model) if cfg.train.ema else None
    state = TrainState(
        model,
        build_optimizers(cfg, model),
        ema,
        torch.zeros(1, cfg.model.nz, device=runtime.device),
        torch.zeros(1, 3, 32, 32, device=runtime.device),
    )
    return state, loss


def _steps(state, loss, runtime, real_batches, seed):
    torch.manual_seed(seed)
    beta = (lambda seen: 0.9) if state.ema is not None else None
    history = []
    batches = iter(real_batches)
    for _ in range(2):
        logs, _ = train_step(state, loss.phases(), lambda: next(batches).to(runtime.device), runtime.autocast, beta)
        grads = {
            n: p.grad.detach().float().cpu().clone() for n, p in state.model.named_parameters() if p.grad is not None
        }
        history.append(({k: float(v) for k, v in logs.items()}, grads))
    return history


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
@pytest.mark.parametrize(
    "model_name,loss_name,options", CASES, ids=lambda x: "+".join(x) or "plain" if isinstance(x, dict) else str(x)
)
def test_cpu_and_cuda_agree(tiny_config, cpu_random_numbers, precision, model_name, loss_name, options):
    tiny_config.model.model, tiny_config.loss.loss, tiny_config.train.precision = model_name, loss_name, precision
    for k, v in options.items():
        tiny_config.set(k, v)
    cfg = resolve(tiny_config)
    torch.manual_seed(0)
    cpu_state, cpu_loss = _build(cfg, Runtime(torch.device("cpu"), precision, channels_last=precision == "bf16"))
    weights = copy.deepcopy(cpu_state.model.state_dict())
    gpu_rt = Runtime(torch.device("cuda"), precision, channels_last=True)
    gpu_state, gpu_loss = _build(cfg, gpu_rt, weights)
    n = cfg.train.batch * (cpu_loss.n_critic if cpu_loss.needs_critic else 1) * 2
    real = list((torch.rand(n, 3, 32, 32, generator=torch.Generator().manual_seed(1)) * 2 - 1).split(cfg.train.batch))
    cpu_hist = _steps(cpu_state, cpu_loss, Runtime(torch.device("cpu"), precision, precision == "bf16"), real, 7)
    gpu_hist = _steps(gpu_state, gpu_loss, gpu_rt, real, 7)
    rtol, min_cos = TOLERANCE[precision]
    for (cpu_logs, cpu_grads), (gpu_logs, gpu_grads) in zip(cpu_hist, gpu_hist):
        for k in cpu_logs:
            assert gpu_logs[k] == pytest.approx(cpu_logs[k], rel=rtol, abs=1e-3), k
        assert cpu_grads.keys() == gpu_grads.keys()
        for name in cpu_grads:
            a, b = cpu_grads[name].flatten(), gpu_grads[name].flatten()
            if a.norm() > 1e-8:
                assert torch.nn.functional.cosine_similarity(a, b, dim=0) >= min_cos, name
    lr = max(cfg.optim.lr_g, cfg.optim.lr_d)
    cpu_w, gpu_w = cpu_state.model.state_dict(), gpu_state.model.state_dict()
    for name, value in cpu_w.items():
        if value.dtype.is_floating_point:
            assert torch.allclose(value, gpu_w[name].cpu(), atol=3 * lr + 1e-5, rtol=0), name


def test_a_grid_on_cuda_does_not_rewind_the_training_stream(tiny_config):
    """The original CUDA failure: a sample grid reseeded the CUDA generator."""
    from artistry.training.callbacks.samples import render_preview

    cfg = resolve(tiny_config)
    state, _ = _build(cfg, Runtime(torch.device("cuda")))
    state.fixed_z = torch.randn(4, cfg.model.nz, device="cuda")
    before = torch.cuda.get_rng_state()
    render_preview(state)
    assert torch.equal(before, torch.cuda.get_rng_state())
