"""Class-conditional DCGAN: conditional batch norm in G, a projection discriminator in D."""

from __future__ import annotations

import pytest
import torch

from artistry.build import build_model
from artistry.config import resolve
from artistry.errors import ConfigError
from artistry.models.conditioning import ClassEmbedding, ConditionalBatchNorm2d, projection_term
from artistry.registry import MODELS

K = 3


def conditional(cfg, **model):
    cfg.data.conditional = True
    cfg.data.label_names = [f"l{k}" for k in range(K)]
    cfg.model.num_classes = K
    for name, value in model.items():
        setattr(cfg.model, name, value)
    torch.manual_seed(0)
    return build_model(resolve(cfg), torch.device("cpu"))


@pytest.mark.parametrize("upsample", ["transpose", "resize"])
@pytest.mark.parametrize("size", [32, 64])
def test_conditional_dcgan_shapes(tiny_config, size, upsample):
    tiny_config.data.size = size
    model, _ = conditional(tiny_config, upsample=upsample, mbstd=True)
    z = model.sample_latents(6, "cpu")
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    weights = torch.softmax(torch.randn(6, K), dim=1)  # blends, rows sum to 1
    for labels in (y, weights):
        x = model.generate(z, labels)
        assert x.shape == (6, 3, size, size)
        assert model.discriminate(x, labels).shape == (6,)
        logits, h = model.discriminate_with_features(x, labels)
        assert logits.shape == (6,) and h.shape[0] == 6


def test_one_hot_weights_are_the_same_as_indices(tiny_config):
    model, _ = conditional(tiny_config)
    model.eval()
    z, y = model.sample_latents(4, "cpu"), torch.tensor([2, 0, 1, 2])
    one_hot = torch.nn.functional.one_hot(y, K).float()
    with torch.no_grad():
        torch.testing.assert_close(model.generate(z, y), model.generate(z, one_hot))
        x = model.generate(z, y)
        torch.testing.assert_close(model.discriminate(x, y), model.discriminate(x, one_hot))


def test_labels_change_the_output_and_a_conditional_network_needs_them(tiny_config):
    model, _ = conditional(tiny_config)
    model.eval()
    with torch.no_grad():  # give the per-class scales something to differ by
        for m in model.G.modules():
            if isinstance(m, ConditionalBatchNorm2d):
                m.gamma.weight.normal_(1.0, 0.3)
    z = model.sample_latents(2, "cpu")
    with torch.no_grad():
        assert not torch.allclose(model.generate(z, torch.tensor([0, 0])), model.generate(z, torch.tensor([1, 1])))
        x = model.generate(z, torch.tensor([0, 0]))
        model.D.embed.weight.normal_()
        assert not torch.allclose(
            model.discriminate(x, torch.tensor([0, 0])), model.discriminate(x, torch.tensor([1, 1]))
        )
    with pytest.raises(ValueError, match="labels"):
        model.G(z)
    with pytest.raises(ValueError, match="labels"):
        model.D(x)


def test_conditional_batch_norm_starts_as_plain_batch_norm():
    torch.manual_seed(0)
    x = torch.randn(8, 5, 4, 4)
    cbn, bn = ConditionalBatchNorm2d(5, K), torch.nn.BatchNorm2d(5)
    torch.testing.assert_close(cbn(x, torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])), bn(x))


def test_projection_term_is_the_inner_product_with_the_pooled_features():
    embedding = ClassEmbedding(K, 4)
    h = torch.randn(2, 4, 3, 3)
    y = torch.tensor([1, 2])
    want = (embedding.weight[y] * h.sum(dim=(2, 3))).sum(dim=1)
    torch.testing.assert_close(projection_term(h, y, embedding), want)


def test_the_projection_gradient_reaches_the_embedding_and_the_features(tiny_config):
    """The critic phase trains D's class embedding and its convolutions through the projection
    term; the generator phase trains G's per-class scales and shifts."""
    model, loss = conditional(tiny_config)
    critic, generator = loss.phases()
    real, y = torch.rand(8, 3, 32, 32) * 2 - 1, torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    model.zero_grad()
    critic.compute(model, real, y)[0].backward()
    assert model.D.embed.weight.grad.abs().sum() > 0
    assert model.D.embed.weight.grad[2].abs().sum() > 0  # a label in the batch gets its own gradient

    model.zero_grad()  # the projection term alone: features get gradient through <embed(y), h>
    x = real.requires_grad_(True)
    h = model.D.features(x)
    projection_term(h, y, model.D.embed).sum().backward()
    assert model.D.features[0].weight.grad.abs().sum() > 0

    model.zero_grad()
    generator.compute(model, real, y)[0].backward()
    cbns = [m for m in model.G.modules() if isinstance(m, ConditionalBatchNorm2d)]
    assert cbns and all(m.gamma.weight.grad.abs().sum() > 0 and m.beta.weight.grad.abs().sum() > 0 for m in cbns)


def test_an_unconditional_dcgan_has_no_label_parameters(tiny_config):
    torch.manual_seed(0)
    model, _ = build_model(resolve(tiny_config), torch.device("cpu"))
    assert model.num_classes == 0 and model.D.embed is None
    assert not any("embed" in k or "gamma" in k for k in model.state_dict())
    model.eval()
    z = model.sample_latents(2, "cpu")
    with torch.no_grad():
        assert torch.equal(model.G(z), model.G(z, None))


@pytest.mark.parametrize("family", MODELS.names())
def test_every_generator_accepts_y_none(family, tiny_config):
    tiny_config.model.model = family
    model, _ = build_model(resolve(tiny_config), torch.device("cpu"))
    model.eval()
    x = model.sample_latents(2, "cpu") if model.can_sample else torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(model.G(x), model.G(x, None))


@pytest.mark.parametrize("family", [f for f in MODELS.names() if not MODELS.get(f).supports_conditional])
def test_a_family_that_cannot_be_conditional_refuses_the_flag(family, tiny_config):
    tiny_config.model.model = family
    tiny_config.data.conditional = True
    with pytest.raises(ConfigError, match="--conditional"):
        resolve(tiny_config)


def test_a_conditional_dcgan_refuses_packing(tiny_config):
    tiny_config.data.conditional, tiny_config.loss.pack = True, 2
    with pytest.raises(ConfigError, match="--pack"):
        resolve(tiny_config)
