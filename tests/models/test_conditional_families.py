"""Class-conditional VAE (CVAE, VAE-GAN) and FastGAN: what is particular to each.

Shapes, resume and generation of every conditional family are in test_every_family.py; here: the
VAE-GAN's projection critic, the encoder that takes the label, one-hot weights equal to indices,
the projection term's gradient reaching D, a CVAE whose decoder learns what each label means, and
the families that cannot be conditional refusing the flag.
"""

from __future__ import annotations

import pytest
import torch

import artistry
from artistry.build import build_model
from artistry.config import Config, resolve
from artistry.errors import ConfigError
from artistry.losses.reconstruction import elbo
from artistry.models.conditioning import ConditionalBatchNorm2d
from artistry.registry import LOSSES

K, NZ = 3, 8


def build(family: str, size: int = 32, loss: str | None = None, width: int = 4, **settings):
    cfg = Config()
    cfg.data.path, cfg.data.size, cfg.train.steps = "x", size, 1
    cfg.model.model, cfg.model.ngf, cfg.model.ndf, cfg.model.nz = family, width, width, NZ
    cfg.loss.loss = loss
    cfg.data.conditional, cfg.data.label_names, cfg.model.num_classes = True, ["a", "b", "c"], K
    for name, value in settings.items():
        cfg.set(name, value)
    torch.manual_seed(0)
    return build_model(resolve(cfg), torch.device("cpu"))


def scatter_label_parameters_(model) -> None:
    """Per-label scales, shifts and embeddings start equal (or tiny); spread them so labels differ."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, ConditionalBatchNorm2d):
                m.gamma.weight.normal_(1.0, 0.3)
                m.beta.weight.normal_(0.0, 0.3)
        for embed in (getattr(model.D, "embed", None), getattr(getattr(model, "encoder", None), "label_shift", None)):
            if embed is not None:
                embed.weight.normal_()


Y = torch.tensor([0, 1, 2, 0])
CASES = [("vae", None), ("vae", "bce"), ("fastgan", None)]


@pytest.mark.parametrize("size", [32, 64])
def test_cvae_encoder_and_vae_gan_critic_take_labels_and_blends(size):
    model, _ = build("vae", size, "bce")
    model.eval()
    x = torch.rand(4, 3, size, size) * 2 - 1
    for y in (Y, torch.softmax(torch.randn(4, K), dim=1)):
        mu, logvar = model.encode(x, y)
        assert mu.shape == logvar.shape == (4, NZ)
        assert model.decode_logits(mu, y=y).shape == model.reconstruct(x, y=y).shape == (4, 3, size, size)
        assert model.discriminate(x, y).shape == (4,)
    assert model.D.embed is not None and model.encoder.label_shift is not None


@pytest.mark.parametrize(("family", "loss"), CASES)
def test_one_hot_weights_equal_indices_and_labels_change_every_network(family, loss):
    model, _ = build(family, loss=loss)
    scatter_label_parameters_(model)
    model.eval()
    z, x = model.sample_latents(4, "cpu"), torch.rand(4, 3, 32, 32) * 2 - 1
    one_hot = torch.nn.functional.one_hot(Y, K).float()
    other = (Y + 1) % K
    with torch.no_grad():
        torch.testing.assert_close(model.generate(z, one_hot), model.generate(z, Y))
        assert not torch.allclose(model.generate(z, Y), model.generate(z, other))
        if model.D is not None:
            torch.testing.assert_close(model.discriminate(x, one_hot), model.discriminate(x, Y))
            assert not torch.allclose(model.discriminate(x, Y), model.discriminate(x, other))
        if family == "vae":
            torch.testing.assert_close(model.encode(x, one_hot)[0], model.encode(x, Y)[0])
            assert not torch.allclose(model.encode(x, Y)[0], model.encode(x, other)[0])
            # the logits the ELBO scores are the images G draws, label by label
            torch.testing.assert_close(torch.sigmoid(model.decode_logits(z, y=Y)), (model.G(z, Y) + 1) / 2)


@pytest.mark.parametrize(("family", "loss"), CASES)
def test_a_conditional_network_needs_its_labels(family, loss):
    model, _ = build(family, loss=loss)
    z, x = model.sample_latents(2, "cpu"), torch.rand(2, 3, 32, 32) * 2 - 1
    with pytest.raises(ValueError, match="labels"):
        model.G(z)
    if model.D is not None:
        with pytest.raises(ValueError, match="labels"):
            model.discriminate(x)
    if family == "vae":
        with pytest.raises(ValueError, match="labels"):
            model.encode(x)


@pytest.mark.parametrize(("family", "loss"), [("fastgan", None), ("vae", "bce")])
def test_the_projection_gradient_reaches_d(family, loss):
    model, phases = build(family, loss=loss)
    critic = next(p for p in phases.phases() if p.optimizer == "D")
    real = torch.rand(6, 3, 32, 32) * 2 - 1
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    critic.compute(model, real, y)[0].backward()
    grad = model.D.embed.weight.grad
    assert all(grad[k].abs().sum() > 0 for k in range(K))  # every label in the batch gets its own gradient

    # Between two labels for the same images only the projection term differs, so D's
    # convolutions get gradient from it alone (and the unconditional head none).
    model.zero_grad(set_to_none=True)
    model.eval()  # no power-iteration or batch-statistics change between the two passes
    (model.discriminate(real, y) - model.discriminate(real, (y + 1) % K)).sum().backward()
    first_conv = next(m for m in model.D.modules() if isinstance(m, torch.nn.Conv2d))
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in first_conv.parameters())
    assert all(p.grad is None or p.grad.abs().max() < 1e-6 for p in model.D.head.parameters())
    assert model.D.embed.weight.grad.abs().sum() > 0


ADVERSARIAL = [name for name in LOSSES.names() if LOSSES.get(name).needs_critic]


@pytest.mark.parametrize("loss", ADVERSARIAL)
@pytest.mark.parametrize("family", ["fastgan", "vae"])
def test_every_adversarial_loss_and_penalty_trains_the_label_parts(family, loss):
    """Both phases of every GAN loss, with R1 and feature matching on (and wgan-gp's penalty),
    train the conditional critic's embedding and the generator's per-label scales."""
    model, phases = build(family, loss=loss, r1=1.0, fm=1.0)
    real, y = torch.rand(6, 3, 32, 32) * 2 - 1, torch.tensor([0, 1, 2, 0, 1, 2])
    for phase in phases.phases():
        model.zero_grad(set_to_none=True)
        total, logs = phase.compute(model, real, y)
        assert torch.isfinite(total) and all(torch.isfinite(torch.as_tensor(v)).all() for v in logs.values())
        total.backward()
        if phase.optimizer == "D":
            assert "r1" in logs and model.D.embed.weight.grad.abs().sum() > 0
        else:
            cbns = [m for m in model.G.modules() if isinstance(m, ConditionalBatchNorm2d)]
            assert all(m.beta.weight.grad.abs().sum() > 0 for m in cbns), loss


def test_fastgan_conditions_every_generator_norm_and_keeps_the_decoders_unconditional():
    model, _ = build("fastgan", 64)
    g_norms = [m for m in model.G.modules() if isinstance(m, (torch.nn.BatchNorm2d, ConditionalBatchNorm2d))]
    cbns = [m for m in g_norms if isinstance(m, ConditionalBatchNorm2d)]
    assert cbns and len(cbns) == len([m for m in model.G.modules() if isinstance(m, torch.nn.BatchNorm2d)])
    assert not any(isinstance(m, ConditionalBatchNorm2d) for m in model.D.modules())
    _, (seen, h8, h16) = model.discriminate_real(torch.rand(2, 3, 64, 64) * 2 - 1, torch.tensor([0, 1]))
    assert model.D.decode_all(h8).shape == (2, 3, 32, 32)  # rebuilt from features, no label asked


def test_an_unconditional_family_keeps_its_parameter_names():
    """Checkpoints of unconditional vae/fastgan runs from before conditioning still load."""
    for family in ("vae", "fastgan"):
        cfg = Config()
        cfg.data.path, cfg.data.size, cfg.train.steps, cfg.model.model = "x", 32, 1, family
        model, _ = build_model(resolve(cfg), torch.device("cpu"))
        keys = set(model.state_dict())
        assert model.num_classes == 0 and not any("embed" in k or "gamma" in k or "label_shift" in k for k in keys)
        if family == "fastgan":
            assert {"G.init.1.weight", "G.blocks.8.0.2.weight", "G.blocks.8.1.2.weight"} <= keys


def test_a_cvae_learns_what_each_label_means():
    """Three labels: dark, mid-grey and bright images. A few ELBO steps lower the loss, and the
    decoder, given the same latents, draws darker images for 'dark' than for 'bright'."""
    model, _ = build("vae", width=8)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(1)
    y = torch.arange(12) % K  # 0 dark, 1 mid, 2 bright
    level = torch.tensor([-0.7, 0.0, 0.7])[y][:, None, None, None]
    excess = []  # the loss above its floor, the targets' own entropy (pixels are not 0 or 1)
    for _ in range(40):
        x = (level + 0.1 * torch.randn(12, 3, 32, 32, generator=gen)).clamp(-1, 1)
        loss, _ = elbo(model, x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        t = (x + 1) / 2
        floor = torch.nn.functional.binary_cross_entropy(t, t, reduction="none").flatten(1).sum(1).mean()
        excess.append(float(loss.detach() - floor))
    assert excess[-1] < 0.6 * excess[0], excess
    model.eval()
    z = torch.randn(8, NZ, generator=gen)
    with torch.no_grad():
        means = [float(model.G(z, torch.full((8,), k)).mean()) for k in range(K)]
    assert means[0] < means[1] < means[2] and means[0] + 0.2 < means[2], means


@pytest.mark.parametrize("family", ["mlp", "dae"])
@pytest.mark.parametrize(("field", "flag"), [("conditional", "--conditional"), ("labels", "--labels")])
def test_a_family_that_cannot_be_conditional_names_the_flag(family, field, flag, tmp_path):
    cfg = Config()
    cfg.data.path, cfg.train.steps, cfg.model.model = "x", 1, family
    if field == "labels":
        csv = tmp_path / "labels.csv"
        csv.write_text("file,label\na.png,x\n")
        cfg.data.labels = str(csv)
    else:
        cfg.data.conditional = True
    with pytest.raises(ConfigError, match=flag):
        resolve(cfg)


def test_a_conditional_vae_run_encodes_images_with_their_labels(tiny_config):
    tiny_config.model.model, tiny_config.train.steps = "vae", 2
    tiny_config.data.conditional, tiny_config.data.min_label_images = True, 1
    run = artistry.load(artistry.train(tiny_config, progress=False))
    images, labels = run.training_images()[:4], torch.from_numpy(run.training_labels()[:4])
    z = run.encode(images, labels=labels)
    assert z.shape == (4, tiny_config.model.nz)
    assert torch.equal(z, run.encode(images, labels=torch.nn.functional.one_hot(labels, 2).float()))
    assert run.images_from_latents(z, labels=labels).shape == images.shape
    with pytest.raises(ConfigError, match="class-conditional: encoding images needs their labels"):
        run.encode(images)
