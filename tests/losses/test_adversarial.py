"""Every adversarial loss on every GAN family: defaults, a few steps, and each regulariser."""

from __future__ import annotations

import contextlib
import math

import pytest
import torch
from torch import nn

from artistry.build import build_model
from artistry.config import Config, resolve
from artistry.errors import ConfigError
from artistry.losses.penalties import clip_weights_, gradient_penalty, r1_penalty
from artistry.models.base import GenerativeModel
from artistry.registry import LOSSES as LOSSES_REGISTRY
from artistry.training.state import TrainState, build_optimizers, ema_beta, make_ema
from artistry.training.step import train_step

LOSSES = ["bce", "wgan", "wgan-gp", "hinge"]
FAMILIES = ["dcgan", "mlp"]


def make_cfg(loss: str, family: str = "dcgan", **settings) -> Config:
    cfg = Config()
    cfg.data.path, cfg.data.size = "x", 32
    cfg.model.model, cfg.model.ngf, cfg.model.ndf, cfg.model.nz = family, 4, 4, 8
    cfg.loss.loss = loss
    cfg.train.batch, cfg.train.steps, cfg.train.precision = 8, 3, "fp32"
    for k, v in settings.items():
        cfg.set(k, v)
    return resolve(cfg)


def run_steps(cfg: Config, steps: int = 2, seed: int = 0):
    """Build the model + loss for cfg and run `steps` train_steps on random 'images'."""
    torch.manual_seed(seed)
    model, loss = build_model(cfg, torch.device("cpu"))
    state = TrainState(
        model,
        build_optimizers(cfg, model),
        make_ema(model) if cfg.train.ema else None,
        fixed_z=torch.zeros(1, cfg.model.nz),
        fixed_real=torch.zeros(1, 3, 32, 32),
    )
    before = {k: v.clone() for k, v in model.state_dict().items()}
    g = torch.Generator().manual_seed(seed)
    next_batch = lambda: torch.rand(cfg.train.batch, 3, 32, 32, generator=g) * 2 - 1  # noqa: E731
    beta = (lambda seen: ema_beta(cfg, seen)) if cfg.train.ema else None
    logs, drawn = [], 0
    for _ in range(steps):
        lg, n = train_step(state, loss.phases(), next_batch, contextlib.nullcontext, beta)
        logs.append(lg)
        drawn += n
    return state, before, logs, drawn


def changed(before, model, prefix):
    return [
        k
        for k, v in model.state_dict().items()
        if k.startswith(prefix) and v.dtype.is_floating_point and not torch.equal(v, before[k])
    ]


# --- the recipes ---------------------------------------------------------------------------------
def test_each_loss_fills_its_papers_recipe():
    wgan = make_cfg("wgan")
    assert (wgan.optim.optimizer, wgan.optim.lr_g, wgan.optim.lr_d) == ("rmsprop", 5e-5, 5e-5)
    assert (wgan.loss.n_critic, wgan.loss.clip, wgan.loss.gp) == (5, 0.01, 0.0)
    gp = make_cfg("wgan-gp")
    assert (gp.optim.optimizer, gp.optim.lr_g, gp.optim.beta1, gp.optim.beta2) == ("adam", 1e-4, 0.0, 0.9)
    assert (gp.loss.n_critic, gp.loss.gp, gp.loss.clip, gp.model.d_norm) == (5, 10.0, None, "layer")
    hinge = make_cfg("hinge")
    assert (hinge.optim.lr_g, hinge.optim.beta1, hinge.optim.beta2) == (2e-4, 0.0, 0.9)
    assert hinge.model.d_norm == "none"
    bce = make_cfg("bce")
    assert (bce.optim.lr_g, bce.optim.beta1, bce.loss.n_critic, bce.loss.clip, bce.loss.gp) == (2e-4, 0.5, 1, None, 0.0)


def test_recipe_values_are_overridable():
    cfg = make_cfg("wgan-gp", lr_d=3e-4, n_critic=2, gp=1.0, optimizer="rmsprop", d_norm="none")
    assert (cfg.optim.lr_d, cfg.optim.lr_g, cfg.loss.n_critic, cfg.loss.gp) == (3e-4, 1e-4, 2, 1.0)
    assert (cfg.optim.optimizer, cfg.model.d_norm) == ("rmsprop", "none")
    assert make_cfg("wgan", clip=0.05).loss.clip == 0.05


def test_the_critic_contents_follow_the_loss():
    with pytest.raises(ConfigError, match="--d-norm"):
        make_cfg("wgan-gp", d_norm="batch")
    with pytest.raises(ConfigError, match="--label-smoothing"):
        make_cfg("hinge", label_smoothing=0.1)
    gp_model, _ = build_model(make_cfg("wgan-gp"), torch.device("cpu"))
    assert not any(isinstance(m, nn.BatchNorm2d) for m in gp_model.D.modules())
    assert any(isinstance(m, nn.GroupNorm) for m in gp_model.D.modules())
    hinge_model, _ = build_model(make_cfg("hinge"), torch.device("cpu"))
    assert any(nn.utils.parametrize.is_parametrized(m) for m in hinge_model.D.modules())


# --- a few steps of every loss on every family ----------------------------------------------------
@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("loss", LOSSES)
def test_loss_trains_on_family(loss, family):
    cfg = make_cfg(loss, family)
    state, before, logs, drawn = run_steps(cfg)
    for lg in logs:
        assert {"loss_D", "loss_G"} <= set(lg)
        assert all(torch.isfinite(torch.as_tensor(v)) for v in lg.values()), lg
    assert changed(before, state.model, "G.") and changed(before, state.model, "D.")
    assert drawn == 2 * cfg.loss.n_critic * cfg.train.batch  # one real batch per critic step
    if loss == "wgan-gp":
        assert "gp" in logs[-1]
    if loss in ("wgan", "wgan-gp"):
        assert "wdist" in logs[-1]


@pytest.mark.parametrize("family", FAMILIES)
def test_weight_clipping_holds_the_bound(family):
    cfg = make_cfg("wgan", family, clip=0.01)
    state, *_ = run_steps(cfg, steps=2)
    for p in state.model.param_groups()["D"]:
        assert p.abs().max() <= 0.01 + 1e-9
    assert any(p.abs().max() > 0.01 for p in state.model.param_groups()["G"])  # G is not clipped


@pytest.mark.parametrize("family", FAMILIES)
def test_spectral_norm_keeps_every_critic_layer_near_one(family):
    cfg = make_cfg("hinge", family)
    state, *_ = run_steps(cfg, steps=3)
    D = state.model.D
    layers = [m for m in D.modules() if nn.utils.parametrize.is_parametrized(m, "weight")]
    assert len(layers) >= 3
    for m in layers:
        w = m.weight.detach()  # the normalised weight the forward pass uses
        sigma = torch.linalg.matrix_norm(w.reshape(w.shape[0], -1), ord=2)
        assert abs(float(sigma) - 1.0) < 0.05, (m, float(sigma))


# --- the penalties on hand-built critics ----------------------------------------------------------
class LinearCritic(GenerativeModel):
    """D(x) = <w, x> on packed inputs: gradient norm |w| everywhere (|w| = 1: 1-Lipschitz)."""

    def __init__(self, dim: int, scale: float, pack: int = 1):
        super().__init__(nz=2, image_shape=(dim,))
        w = torch.randn(dim * pack)
        self.D = nn.Linear(dim * pack, 1, bias=True)
        with torch.no_grad():
            self.D.weight.copy_(scale * w / w.norm())
        self.G = nn.Linear(2, dim)
        self.pack = pack

    def discriminate(self, x, y=None):
        return self.D(x.reshape(x.shape[0] // self.pack, -1)).reshape(-1)


@pytest.mark.parametrize("pack", [1, 2])
def test_gradient_penalty_is_zero_for_a_1_lipschitz_critic(pack):
    torch.manual_seed(0)
    real, fake = torch.randn(8, 6), torch.randn(8, 6)
    assert float(gradient_penalty(LinearCritic(6, 1.0, pack), real, fake).detach()) < 1e-8
    assert float(gradient_penalty(LinearCritic(6, 3.0, pack), real, fake).detach()) == pytest.approx(4.0, rel=1e-4)


def test_gradient_penalty_is_differentiable_and_fp32_under_autocast():
    torch.manual_seed(0)
    model = LinearCritic(6, 2.0)
    real, fake = torch.randn(4, 6), torch.randn(4, 6)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        gp = gradient_penalty(model, real, fake)
    assert gp.dtype == torch.float32 and float(gp.detach()) == pytest.approx(1.0, rel=1e-4)
    gp.backward()  # the double backward reaches the critic's weights
    assert model.D.weight.grad is not None and model.D.weight.grad.abs().sum() > 0


def test_r1_is_the_squared_gradient_norm_on_reals():
    torch.manual_seed(0)
    assert float(r1_penalty(LinearCritic(5, 2.0), torch.randn(8, 5)).detach()) == pytest.approx(4.0, rel=1e-4)
    assert float(r1_penalty(LinearCritic(5, 1.5, pack=2), torch.randn(8, 5)).detach()) == pytest.approx(2.25, rel=1e-4)


def test_clip_weights_clamps_only_the_critic():
    model = LinearCritic(4, 5.0)
    clip_weights_(model, 0.1)
    assert model.D.weight.abs().max() <= 0.1


@pytest.mark.parametrize("loss", LOSSES)
def test_r1_adds_half_gamma_times_the_penalty_to_every_critic_loss(loss):
    """Catches R1 logged but not added, added without the 1/2, or computed on the fakes."""
    torch.manual_seed(0)
    model, with_r1 = build_model(make_cfg(loss, "mlp", r1=1000.0, gp=0.0), torch.device("cpu"))
    _, plain = build_model(make_cfg(loss, "mlp", gp=0.0), torch.device("cpu"))
    model.eval()  # batch statistics and spectral-norm power steps would differ between the two calls
    real = torch.rand(8, 3, 32, 32) * 2 - 1

    def critic_loss(loss_obj):
        torch.manual_seed(1)  # the same fake batch for both
        return loss_obj.phases()[0].compute(model, real)

    total, logs = critic_loss(with_r1)
    base, _ = critic_loss(plain)
    expected = r1_penalty(model, real).detach()
    assert float(expected) > 0 and float(logs["r1"].detach()) == pytest.approx(float(expected), rel=1e-5)
    assert float((total - base).detach()) == pytest.approx(500.0 * float(expected), rel=1e-3)


# --- the objectives against hand computation ------------------------------------------------------
D_REAL, D_FAKE = [2.0, -1.0], [0.5, -3.0]


def _softplus(x):
    return math.log1p(math.exp(x))


def _mean(xs):
    return sum(xs) / len(xs)


HAND = {  # (critic loss, generator loss) for the logits above
    "bce": (
        _mean([_softplus(-x) for x in D_REAL]) + _mean([_softplus(x) for x in D_FAKE]),
        _mean([_softplus(-x) for x in D_FAKE]),
    ),
    "wgan": (_mean(D_FAKE) - _mean(D_REAL), -_mean(D_FAKE)),
    "wgan-gp": (_mean(D_FAKE) - _mean(D_REAL), -_mean(D_FAKE)),
    "hinge": (_mean([max(0.0, 1 - x) for x in D_REAL]) + _mean([max(0.0, 1 + x) for x in D_FAKE]), -_mean(D_FAKE)),
}


@pytest.mark.parametrize("loss", LOSSES)
def test_objectives_match_hand_computation(loss):
    obj = LOSSES_REGISTRY.get(loss)(make_cfg(loss))
    d_loss, logs = obj.critic_objective(torch.tensor(D_REAL), torch.tensor(D_FAKE))
    g_loss = obj.generator_objective(torch.tensor(D_FAKE))
    assert float(d_loss) == pytest.approx(HAND[loss][0], rel=1e-6)
    assert float(g_loss) == pytest.approx(HAND[loss][1], rel=1e-6)
    if loss.startswith("wgan"):
        assert float(logs["wdist"]) == pytest.approx(_mean(D_REAL) - _mean(D_FAKE))  # positive when D separates


def test_label_smoothing_targets_1_minus_s_on_reals_only():
    """One-sided (Salimans et al.): with s = 0.1 the real-side loss is BCE against 0.9, whose
    minimum is at sigmoid(D) = 0.9; the fake side is untouched."""
    smooth = LOSSES_REGISTRY.get("bce")(make_cfg("bce", label_smoothing=0.1))
    sharp = LOSSES_REGISTRY.get("bce")(make_cfg("bce"))
    x = 1.5
    expected_real = -(0.9 * math.log(1 / (1 + math.exp(-x))) + 0.1 * math.log(1 - 1 / (1 + math.exp(-x))))
    d_fake = torch.tensor([0.3])
    got, _ = smooth.critic_objective(torch.tensor([x]), d_fake)
    assert float(got) == pytest.approx(expected_real + _softplus(0.3), rel=1e-6)
    at_target = torch.tensor([math.log(0.9 / 0.1)], requires_grad=True)  # sigmoid = 0.9
    smooth.critic_objective(at_target, d_fake)[0].backward()
    assert abs(float(at_target.grad)) < 1e-6  # smoothing: no push beyond 0.9
    at_target.grad = None
    sharp.critic_objective(at_target, d_fake)[0].backward()
    assert float(at_target.grad) < -0.05  # without it: still pushed up
    assert float(sharp.generator_objective(d_fake)) == float(smooth.generator_objective(d_fake))


@pytest.mark.parametrize("loss", LOSSES)
def test_one_critic_step_separates_and_one_generator_step_fools(loss):
    """The direction of each phase: a flipped sign in any objective still trains to finite,
    changed weights (the old check), but moves these margins the wrong way."""
    torch.manual_seed(0)
    model = LinearCritic(6, 0.5)
    critic, generator = LOSSES_REGISTRY.get(loss)(make_cfg(loss, "mlp", gp=0.0)).phases()
    real = torch.randn(16, 6) + 1.0  # reals sit on one side, G's outputs near 0
    z = torch.randn(16, 2)
    model.sample_latents = lambda n, device, generator=None: z[:n]

    def d_mean(x):
        with torch.no_grad():
            return float(model.discriminate(x).mean())

    def sgd(loss_value, params, lr=0.05):
        grads = torch.autograd.grad(loss_value, params)
        with torch.no_grad():
            for p, g in zip(params, grads):
                p -= lr * g

    margin = d_mean(real) - d_mean(model.generate(z))
    sgd(critic.compute(model, real)[0], list(model.D.parameters()))
    assert d_mean(real) - d_mean(model.generate(z)) > margin + 1e-4
    fooled = d_mean(model.generate(z))
    sgd(generator.compute(model, real)[0], list(model.G.parameters()))
    assert d_mean(model.generate(z)) > fooled + 1e-4


# --- the anti-collapse options with every loss ----------------------------------------------------
@pytest.mark.parametrize("loss", LOSSES)
def test_pack_mbstd_mbdisc_and_ema_work_with_every_loss(loss):
    cfg = make_cfg(loss, "dcgan", pack=2, mbstd=True, mbdisc=4, ema=True, ema_kimg=0.01)
    state, before, logs, _ = run_steps(cfg, steps=2)
    D = state.model.D
    assert D.features[0].in_channels == 6 and D.mbstd is not None and D.mbdisc.kernels == 4
    assert all(not torch.equal(before[f"D.mbdisc.T.{k}"], p) for k, p in D.mbdisc.T.named_parameters())
    assert all(torch.isfinite(torch.as_tensor(v)) for v in logs[-1].values())
    ema, g = dict(state.ema.named_parameters()), dict(state.model.G.named_parameters())
    assert any(not torch.equal(ema[k], before[f"G.{k}"]) for k in ema)  # the average moved ...
    assert any(not torch.equal(ema[k], g[k]) for k in ema)  # ... but lags G
    z = torch.randn(4, cfg.model.nz)
    assert state.sampling_generator() is state.ema and state.ema(z).shape == (4, 3, 32, 32)


def test_mlp_family_with_pack_and_mbstd():
    state, *_ = run_steps(make_cfg("wgan-gp", "mlp", pack=4, mbstd=True), steps=1)
    assert state.model.discriminate(torch.randn(8, 3, 32, 32)).shape == (2,)


def test_a_full_training_run_with_wgan_gp_and_every_option(tiny_config):
    import json

    import artistry

    tiny_config.loss.loss = "wgan-gp"
    tiny_config.loss.pack, tiny_config.model.mbstd, tiny_config.train.ema = 2, True, True
    tiny_config.loss.n_critic, tiny_config.loss.r1 = 2, 1.0
    tiny_config.train.steps = 2
    run = artistry.train(tiny_config, progress=False)
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    last = [r for r in lines if "loss_D" in r][-1]
    assert last["images_seen"] == 2 * 2 * 8 and "gp" in last and "r1" in last
    assert artistry.load(run).generate(2).shape == (2, 3, 32, 32)
