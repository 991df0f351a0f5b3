"""FastGAN: shapes and exact parameter counts at 128-1024 px, the critic-side reconstruction term,
noise injection only while training, and a 20-step run at 128 px through the CLI."""

from __future__ import annotations

import json
import math

import pytest
import torch
from PIL import Image

from artistry.build import build_model
from artistry.cli.main import app
from artistry.config import Config, resolve
from artistry.errors import ConfigError
from artistry.models.fastgan import CRITIC_WIDTH_MULT, WIDTH_MULT, critic_links, generator_links, laplacian_l1

NZ, C = 8, 3


def tiny(size: int, ngf: int = 4, ndf: int = 6, d_norm: str = "batch", cfg: Config | None = None):
    cfg = cfg or Config()
    cfg.data.path, cfg.data.size, cfg.train.steps = "x", size, 1
    cfg.model.model, cfg.model.ngf, cfg.model.ndf, cfg.model.nz, cfg.model.d_norm = "fastgan", ngf, ndf, NZ, d_norm
    return build_model(resolve(cfg), torch.device("cpu"))


def w(res: int, base: int) -> int:
    return max(4, int(WIDTH_MULT[res] * base))


def dw(res: int, base: int) -> int:
    return max(4, int(CRITIC_WIDTH_MULT[res] * base))


def generator_params(size: int, b: int) -> int:
    """The paper's generator, counted by hand: GLU halves 2c conv outputs; BN has 2 per channel."""
    glu = lambda cin, cout: 9 * cin * 2 * cout + 2 * 2 * cout  # noqa: E731  3x3 conv + BN
    n = NZ * 2 * w(4, b) * 16 + 2 * 2 * w(4, b)  # 1x1 -> 4x4 transposed conv + BN
    for k in range(3, int(math.log2(size)) + 1):
        cin, cout = w(2 ** (k - 1), b), w(2**k, b)
        n += glu(cin, cout)
        if k % 2:  # comp block: second conv, two noise weights
            n += glu(cout, cout) + 2
    for s, t in generator_links(size):  # excitation: 4x4 conv + 1x1 conv
        n += 16 * w(s, b) * w(t, b) + w(t, b) ** 2
    return n + 9 * w(size, b) * C + C  # to_rgb


def discriminator_params(size: int, b: int) -> int:
    stem = min(size, 256)
    if size <= 256:
        n = 9 * C * dw(stem, b) + dw(stem, b)
    else:
        n = 16 * C * dw(size // 2, b) + dw(size // 2, b)
        r = size // 2
        while r > stem:
            n += 16 * dw(r, b) * dw(r // 2, b) + 2 * dw(r // 2, b)
            r //= 2
    r = stem
    while r > 8:  # down blocks: 4x4 + 3x3 convs, 1x1 shortcut
        cin, cout = dw(r, b), dw(r // 2, b)
        n += 16 * cin * cout + 9 * cout * cout + cin * cout + 3 * 2 * cout
        r //= 2
    for s, t in critic_links(stem):
        n += 16 * dw(s, b) * dw(t, b) + dw(t, b) ** 2
    n += dw(8, b) * dw(4, b) + 2 * dw(4, b) + 16 * dw(4, b) + 1  # neck + 4x4 head
    out = min(128, size // 2)
    for cin in (dw(8, b), dw(16, b)):  # the two decoders
        r = 8
        while r < out:
            r *= 2
            n += 9 * cin * 2 * w(r, b) + 2 * 2 * w(r, b)
            cin = w(r, b)
        n += 9 * cin * C + C
    return n


@pytest.mark.parametrize("size", [128, 256, 512, 1024])
def test_shapes_and_exact_parameter_counts_at_every_size(size):
    torch.manual_seed(0)
    model, _ = tiny(size)
    assert sum(p.numel() for p in model.G.parameters()) == generator_params(size, 4)
    assert sum(p.numel() for p in model.D.parameters()) == discriminator_params(size, 6)
    z = model.sample_latents(2, "cpu")
    x = model.generate(z)
    assert x.shape == (2, C, size, size) and x.abs().max() <= 1
    logits, (seen, h8, h16) = model.discriminate_real(x)
    assert logits.shape == (2,) and seen.shape == x.shape
    assert h8.shape[-2:] == (8, 8) and h16.shape[-2:] == (16, 16)
    out = min(128, size // 2)
    assert model.D.decode_all(h8).shape == model.D.decode_part(h16[:, :, :8, :8]).shape == (2, C, out, out)


def test_paper_widths_and_skip_links():
    model, _ = tiny(256, ngf=64, ndf=64)
    assert [model.G.blocks[str(r)][0][1].out_channels // 2 for r in (8, 16, 32, 64, 128, 256)] == [
        512,
        256,
        128,
        128,
        64,
        32,
    ]
    # D at 256 px in the authors' code: 16 channels at 256 px, doubling per halving to 512 at 8 px
    assert model.D.stem[0].out_channels == 16
    assert [model.D.down[str(r)].main[0].out_channels for r in (128, 64, 32, 16, 8)] == [32, 64, 128, 256, 512]
    assert generator_links(1024) == [(8, 128), (16, 256), (32, 512), (64, 1024)]
    assert generator_links(256) == [(8, 128), (16, 256)] and critic_links(256) == [(256, 32), (128, 16), (64, 8)]
    assert generator_links(64) == [(4, 32), (8, 64)]  # below 128 px the links are 8x apart


def test_runs_saved_before_the_authors_d_widths_still_load(tmp_path):
    """A config saved without `d_widths` rebuilds D at G's widths, so its checkpoint loads; new
    configs get the authors' widths; a bad value names the flag."""
    saved = Config().to_dict()
    del saved["model"]["d_widths"]
    old, _ = tiny(128, ngf=16, ndf=16, cfg=Config.from_dict(saved))
    new, _ = tiny(128, ngf=16, ndf=16)
    assert Config().model.d_widths == "paper" and Config.from_dict(Config().to_dict()).model.d_widths == "paper"
    assert [old.D.down[str(r)].main[0].out_channels for r in (64, 32)] == [2 * 16, 2 * 16]  # G's table
    assert [new.D.down[str(r)].main[0].out_channels for r in (64, 32)] == [16, 2 * 16]
    old.load_state_dict(tiny(128, ngf=16, ndf=16, cfg=Config.from_dict(saved))[0].state_dict())
    with pytest.raises(RuntimeError):
        new.load_state_dict(old.state_dict())
    cfg = Config()
    cfg.model.d_widths = "wide"
    with pytest.raises(ConfigError, match="--d-widths"):
        tiny(128, cfg=cfg)


def test_reconstruction_gradient_reaches_d_only_and_joins_the_shared_critic_phase():
    torch.manual_seed(0)
    model, loss = tiny(128)
    real = torch.rand(4, C, 128, 128) * 2 - 1
    d_real, kept = model.discriminate_real(real)
    recon, logs = model.critic_auxiliary_loss(real, kept)
    assert recon.dim() == 0 and recon > 0 and set(logs) == {"recon_D"}
    recon.backward()
    for part in (model.D.stem, model.D.down, model.D.decode_all, model.D.decode_part):
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in part.parameters())
    assert all(p.grad is None for p in model.G.parameters())
    assert all(p.grad is None for p in model.D.head.parameters())  # the logit head plays no part

    model.zero_grad(set_to_none=True)
    critic = loss.phases()[0]
    total, logs = critic.compute(model, real)
    assert "recon_D" in logs and total > logs["loss_D"]  # hinge + reconstruction
    total.backward()
    assert all(p.grad is None for p in model.G.parameters())  # the critic phase's fakes are detached
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.D.decode_part[-2].parameters())


def test_other_families_have_no_critic_auxiliary_loss():
    cfg = Config()
    cfg.data.path, cfg.data.size, cfg.train.steps, cfg.model.ngf, cfg.model.ndf = "x", 32, 1, 4, 4
    model, loss = build_model(resolve(cfg), torch.device("cpu"))
    _, logs = loss.phases()[0].compute(model, torch.rand(4, C, 32, 32))
    assert "recon_D" not in logs


def test_laplacian_l1_sees_detail_that_a_blur_loses():
    torch.manual_seed(0)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    blurred = torch.nn.functional.avg_pool2d(x, 3, 1, 1)
    assert laplacian_l1(x, x) == 0
    assert laplacian_l1(blurred, x) > laplacian_l1(x + 0.05, x)  # a blur costs more than a slight shift


def test_noise_only_while_training_and_eval_leaves_the_global_rng_alone():
    torch.manual_seed(0)
    model, _ = tiny(128)
    for m in model.G.modules():
        if m.__class__.__name__ == "NoiseInjection":
            torch.nn.init.constant_(m.weight, 0.5)
    z = model.sample_latents(2, "cpu")
    model.G.eval()
    state = torch.random.get_rng_state()
    a, b = model.generate(z), model.generate(z)
    assert torch.equal(a, b) and torch.equal(state, torch.random.get_rng_state())
    model.G.train()
    assert not torch.equal(model.generate(z), model.generate(z))


@pytest.mark.parametrize(
    ("flag", "value", "says"), [("pack", 2, "--pack"), ("mbdisc", 4, "--mbdisc"), ("loss", "elbo", "--loss")]
)
def test_unsupported_options_name_the_flag(flag, value, says):
    cfg = Config()
    cfg.data.path, cfg.model.model, cfg.train.steps = "x", "fastgan", 1
    cfg.set(flag, value)
    with pytest.raises(ConfigError, match=says):
        resolve(cfg)


def test_twenty_steps_at_128px_then_generate_and_interpolate(image_folder, tmp_path, monkeypatch):
    monkeypatch.setenv("ARTISTRY_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    assert (
        app(
            [
                "train",
                str(image_folder),
                "--model",
                "fastgan",
                "--size",
                "128",
                "--ngf",
                "4",
                "--ndf",
                "4",
                "--nz",
                "16",
                "--batch",
                "4",
                "--steps",
                "20",
                "--eval-at",
                "",
                "--precision",
                "fp32",
                "--n-samples",
                "4",
                "--quiet",
                "--name",
                "fg",
            ]
        )
        == 0
    )
    run = tmp_path / "runs" / "00000-fg"
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["train"]["recipe"] == "hires" and cfg["loss"]["n_critic"] == 1
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    recon = [r["recon_D"] for r in rows if "recon_D" in r]
    assert recon and all(math.isfinite(v) for v in recon)
    assert app(["generate", str(run), "--n", "2", "--seed", "3", "--out", "gen"]) == 0
    assert Image.open(tmp_path / "gen" / "seed00003.png").size == (128, 128)
    assert app(["interpolate", str(run), "--frames", "4", "--out", "walk.gif"]) == 0
    assert Image.open(tmp_path / "walk.gif").n_frames == 4
