"""The convolutional VAE: shapes, ELBO terms, KL warm-up, learning, VAE-GAN wiring."""

import numpy as np
import pytest
import torch

import artistry
from artistry.build import build_model
from artistry.config import Config, resolve
from artistry.errors import ConfigError
from artistry.io import checkpoint as ckpt
from artistry.losses.reconstruction import elbo, kl_divergence, psnr


def _vae(size=32, channels=3, nz=8, loss=None, **loss_opts):
    cfg = Config()
    cfg.data.path, cfg.data.size, cfg.data.channels = "x", size, channels
    cfg.model.model, cfg.model.ngf, cfg.model.ndf, cfg.model.nz = "vae", 4, 4, nz
    cfg.loss.loss = loss
    for k, v in loss_opts.items():
        setattr(cfg.loss, k, v)
    cfg.train.steps = 1
    cfg = resolve(cfg)
    model, loss_obj = build_model(cfg, torch.device("cpu"))
    return model, loss_obj, cfg


@pytest.mark.parametrize("size", [32, 64, 128, 256])
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes_at_every_size_and_channel_count(size, channels):
    model, _, _ = _vae(size, channels)
    x = torch.rand(2, channels, size, size) * 2 - 1
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (2, 8)
    assert model.G(mu).shape == (2, channels, size, size)
    assert model.decode_logits(mu).shape == (2, channels, size, size)
    assert model.D is None  # the elbo loss needs no critic


def test_logits_and_images_agree():
    model, _, _ = _vae()
    model.eval()
    z = torch.randn(3, 8)
    img01 = (model.G(z) + 1) / 2
    assert torch.allclose(torch.sigmoid(model.decode_logits(z)), img01, atol=1e-5)


def test_elbo_terms_finite_and_kl_nonnegative():
    mu, logvar = torch.randn(16, 8) * 3, torch.randn(16, 8) * 2
    kl = kl_divergence(mu, logvar)
    assert kl.shape == (16,) and (kl >= 0).all()
    assert torch.allclose(kl_divergence(torch.zeros(2, 8), torch.zeros(2, 8)), torch.zeros(2))
    model, _, _ = _vae(beta=0.5)
    loss, logs = elbo(model, torch.rand(4, 3, 32, 32) * 2 - 1)
    assert torch.isfinite(loss) and all(np.isfinite(float(torch.as_tensor(v).detach())) for v in logs.values())
    assert logs["kl"] >= 0 and logs["recon"] > 0 and logs["kl_weight"] == 0.5
    assert torch.allclose(loss, logs["recon"] + 0.5 * logs["kl"])
    loss.backward()
    assert model.encoder.head.weight.grad is not None  # gradients reach the encoder


def test_kl_warmup_ramps_linearly_in_images():
    model, _, _ = _vae(beta=2.0, kl_warmup=16)
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    weights = [float(elbo(model, x)[1]["kl_weight"]) for _ in range(6)]
    assert weights == [0.0, 0.5, 1.0, 1.5, 2.0, 2.0]
    assert int(model.state_dict()["elbo_images"]) == 24  # checkpointed with the weights


def test_psnr_is_infinite_free_and_matches_definition():
    a = torch.zeros(1, 1, 4, 4)
    assert torch.allclose(psnr(a, a + 0.1), torch.tensor([20.0]), atol=1e-4)
    assert torch.isfinite(psnr(a, a)).all()


def test_preview_shows_prior_samples_then_input_output_pairs():
    model, _, _ = _vae()
    z, real = torch.randn(16, 8), torch.rand(16, 3, 32, 32) * 2 - 1
    out = model.preview(model.G, z, real)
    assert model.preview_nrow == 4 and out.shape == (8 + 16, 3, 32, 32)  # 8 prior + 8 pairs
    assert torch.equal(out[8], real[0]) and torch.equal(out[10], real[1])  # inputs at even slots
    assert model.encoder.training  # preview left the encoder's mode alone


def test_vae_gan_builds_a_critic_and_adds_the_elbo():
    model, loss, cfg = _vae(loss="bce")
    assert model.D is not None and set(model.param_groups()) == {"G", "D"}
    assert any(p is model.encoder.head.weight for p in model.param_groups()["G"])
    g_phase = [p for p in loss.phases() if p.optimizer == "G"][0]
    total, logs = g_phase.compute(model, torch.rand(4, 3, 32, 32) * 2 - 1)
    assert torch.isfinite(total) and "loss_elbo" in logs and "vae_kl" in logs
    assert total > logs["loss_G"]  # adversarial + per-pixel ELBO


def test_vae_rejects_non_vae_losses_and_elbo_rejects_gans():
    with pytest.raises(ConfigError, match="--loss"):
        _vae(loss="denoise")
    cfg = Config()
    cfg.data.path, cfg.loss.loss, cfg.train.steps = "x", "elbo", 1
    with pytest.raises(ConfigError, match="--loss"):
        resolve(cfg)


def test_tiny_vae_reconstructs_better_after_training(tiny_config):
    cfg = tiny_config
    cfg.model.model, cfg.loss.beta, cfg.model.nz, cfg.optim.lr_g = "vae", 0.1, 16, 3e-3
    cfg.train.steps, cfg.train.batch = 60, 8
    cfg.train.sample_every = cfg.train.checkpoint_every = 10**6  # grids/checkpoints at start/end only
    run = artistry.train(cfg, progress=False)
    loaded = artistry.load(run)
    images = loaded.training_images()[:16]
    torch.manual_seed(cfg.train.seed)
    fresh, _ = build_model(resolve(cfg), torch.device("cpu"))  # the same initial weights
    fresh.eval()

    def score(model, G):
        x = torch.from_numpy(np.array(images)).float() / 127.5 - 1
        with torch.no_grad():
            return float(psnr((model.reconstruct(x, G) + 1) / 2, (x + 1) / 2).mean())

    before, after = score(fresh, fresh.G), score(loaded.model, loaded.G)
    assert after > before + 3.0, (before, after)
    tensors, meta = ckpt.load(ckpt.list_checkpoints(run / "checkpoints")[-1][1])
    assert int(tensors["model.elbo_images"]) == meta["images_seen"] == 480
    # encode -> decode through the public API agrees with the model
    rec = loaded.images_from_latents(loaded.encode(images))
    assert rec.shape == images.shape and rec.dtype == np.uint8
