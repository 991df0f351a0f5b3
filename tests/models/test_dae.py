"""The denoising autoencoder and its corruptions."""

import numpy as np
import pytest
import torch

import artistry
from artistry.build import build_model
from artistry.config import Config, resolve
from artistry.data.corrupt import apply_one, corrupt, parse_noise
from artistry.errors import ConfigError
from artistry.io.images import tensor_to_uint8
from artistry.models.dae import UNetLite


def _dae(size=32, channels=3, noise="gaussian:0.2"):
    cfg = Config()
    cfg.data.path, cfg.data.size, cfg.data.channels = "x", size, channels
    cfg.model.model, cfg.model.ngf, cfg.loss.noise, cfg.train.steps = "dae", 4, noise, 1
    model, loss = build_model(resolve(cfg), torch.device("cpu"))
    return model, loss


@pytest.mark.parametrize("size", [32, 64, 128, 256])
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes_at_every_size_and_channel_count(size, channels):
    model, _ = _dae(size, channels)
    x = torch.rand(2, channels, size, size) * 2 - 1
    assert model.G(x).shape == x.shape
    assert not model.can_sample and model.D is None and model.default_loss == "denoise"


def test_any_image_size_and_identity_at_start():
    net = UNetLite(1, 4)
    x = torch.rand(1, 1, 37, 50) * 2 - 1
    assert torch.equal(net(x), x)  # zero-initialised last conv: a fresh denoiser changes nothing


def test_noise_spec_parsing():
    assert [str(c) for c in parse_noise("gaussian:0.2,saltpepper:0.05,blur,mask")] == [
        "gaussian:0.2",
        "saltpepper:0.05",
        "blur:1",
        "mask:0.25",
    ]
    for bad in ["", "speckle", "gaussian:abc", "gaussian:2", "mask:0.95", "blur:-1"]:
        with pytest.raises(ConfigError, match="--noise"):
            parse_noise(bad)


def test_bad_noise_fails_validation_naming_the_flag():
    with pytest.raises(ConfigError, match="--noise"):
        _dae(noise="gaussian:0.2,fog")
    with pytest.raises(ConfigError, match="--loss"):
        cfg = Config()
        cfg.data.path, cfg.model.model, cfg.loss.loss, cfg.train.steps = "x", "dae", "bce", 1
        resolve(cfg)


def test_corruptions_do_what_they_say():
    x = torch.zeros(4, 3, 32, 32)  # mid grey
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    gauss = apply_one(x, parse_noise("gaussian:0.1")[0], g())
    assert abs(gauss.std().item() - 0.2) < 0.01  # sigma 0.1 on [0, 1] is 0.2 on [-1, 1]
    sp = apply_one(x, parse_noise("saltpepper:0.1")[0], g())
    hit = sp[:, 0] != 0
    assert abs(hit.float().mean().item() - 0.1) < 0.02 and set(sp.unique().tolist()) == {-1.0, 0.0, 1.0}
    assert torch.equal(hit, (sp != 0).all(dim=1))  # the same pixels in every channel
    edge = torch.zeros(1, 1, 16, 16)
    edge[..., 8:] = 1.0
    blurred = apply_one(edge, parse_noise("blur:1")[0])
    assert 0 < blurred[0, 0, 0, 8].item() < 1 and abs(blurred[0, 0, 0, 0].item()) < 1e-3
    masked = apply_one(torch.ones(8, 1, 64, 64), parse_noise("mask:0.25")[0], g())
    assert abs((masked == 0).float().mean().item() - 0.25) < 0.08
    # a mix: reproducible under a seed, everything corrupted, range kept
    mix = parse_noise("gaussian:0.2,blur,mask")
    a, b = corrupt(torch.rand(6, 3, 32, 32), mix, g()), corrupt(torch.rand(6, 3, 32, 32), mix, g())
    clean = torch.rand(6, 3, 32, 32)
    assert torch.equal(corrupt(clean, mix, g()), corrupt(clean, mix, g()))
    assert not torch.equal(corrupt(clean, mix, g()), clean) and a.abs().max() <= 1 and b.abs().max() <= 1


def test_preview_rows_are_noisy_cleaned_original():
    model, _ = _dae()
    real = torch.rand(4, 3, 32, 32) * 2 - 1
    out = model.preview(model.G, torch.randn(4, 1), real)
    assert out.shape == (12, 3, 32, 32) and model.preview_nrow == 12
    assert torch.equal(out[2], real[0]) and not torch.equal(out[0], real[0])
    assert torch.equal(out, model.preview(model.G, torch.randn(4, 1), real))  # fixed corruption seed


def test_dae_improves_psnr_on_a_constructed_noisy_example(tiny_config):
    cfg = tiny_config
    cfg.model.model, cfg.model.ngf, cfg.loss.noise, cfg.optim.lr_g = "dae", 8, "gaussian:0.15", 3e-3
    cfg.train.steps, cfg.train.ema, cfg.train.ema_kimg = 50, True, 0.04  # EMA half-life 40 images
    cfg.train.sample_every = cfg.train.checkpoint_every = 10**6
    run = artistry.train(cfg, progress=False)
    loaded = artistry.load(run)
    assert loaded.ema is not None  # EMA of the denoiser made, checkpointed and loaded
    clean = loaded.training_images()[:8]
    x = torch.from_numpy(np.array(clean)).float() / 127.5 - 1
    noisy = tensor_to_uint8(corrupt(x, parse_noise("gaussian:0.15"), torch.Generator().manual_seed(5)))

    def db(a):
        mse = ((a.astype(float) - clean.astype(float)) / 255) ** 2
        return float(np.mean(10 * np.log10(1 / mse.reshape(len(a), -1).mean(1))))

    before, after = db(noisy), db(loaded.denoise(noisy))
    assert after > before + 2.0, (before, after)
    grey = loaded.denoise(noisy[:2, :1])  # greyscale through a colour denoiser
    assert grey.shape == (2, 1, 32, 32)
    with pytest.raises(ConfigError, match="does not generate"):
        loaded.generate(2)
