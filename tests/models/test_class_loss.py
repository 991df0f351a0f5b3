"""--class-loss: D's auxiliary classifier learns the labels of real images and G is pushed toward
images it reads as the label asked for; neither phase's term leaks into the other network."""

from __future__ import annotations

import pytest
import torch

from artistry.build import build_model
from artistry.config import resolve, validate
from artistry.errors import ConfigError

K = 3


def with_classifier(cfg, class_loss=1.0):
    cfg.data.conditional = True
    cfg.data.label_names = [f"l{k}" for k in range(K)]
    cfg.model.num_classes = K
    cfg.loss.class_loss = class_loss
    torch.manual_seed(0)
    return build_model(resolve(cfg), torch.device("cpu"))


def grads(module):
    return sum(p.grad.abs().sum().item() for p in module.parameters() if p.grad is not None)


def test_the_critic_term_trains_d_and_its_classifier_never_g(tiny_config):
    model, loss = with_classifier(tiny_config)
    critic, _ = loss.phases()
    real, y = torch.rand(6, 3, 32, 32) * 2 - 1, torch.tensor([0, 1, 2, 0, 1, 2])
    model.zero_grad()
    _, kept = model.discriminate_real(real, y)
    term, logs = model.critic_auxiliary_loss(real, kept)
    term.backward()
    assert logs["class_D"] > 0
    assert grads(model.D.classifier) > 0 and grads(model.D.features) > 0
    assert grads(model.G) == 0  # the real batch never went through G
    model.zero_grad()
    total, logs = critic.compute(model, real, y)
    assert "class_D" in logs and "class_G" not in logs
    total.backward()
    assert grads(model.D.classifier) > 0


def test_the_generator_term_reaches_g_through_d(tiny_config):
    model, loss = with_classifier(tiny_config)
    _, generator = loss.phases()
    real, y = torch.rand(6, 3, 32, 32) * 2 - 1, torch.tensor([0, 1, 2, 0, 1, 2])
    z = model.sample_latents(6, "cpu")
    model.zero_grad()
    _, _, kept = model.discriminate_fake(model.generate(z, y), y)
    term, logs = model.auxiliary_loss(real, y, kept)
    term.backward()
    assert logs["class_G"] > 0 and grads(model.G) > 0
    total, logs = generator.compute(model, real, y)
    assert "class_G" in logs and "class_D" not in logs


def test_the_weight_scales_the_term_and_zero_builds_no_classifier(tiny_config):
    model, _ = with_classifier(tiny_config, class_loss=0.25)
    real, y = torch.rand(4, 3, 32, 32) * 2 - 1, torch.tensor([0, 1, 2, 0])
    term, logs = model.critic_auxiliary_loss(real, model.discriminate_real(real, y)[1])
    torch.testing.assert_close(term, 0.25 * logs["class_D"])
    plain, _ = with_classifier(tiny_config, class_loss=0.0)
    assert plain.D.classifier is None and plain.discriminate_real(real, y)[1] is None


def test_blended_labels_are_soft_targets(tiny_config):
    model, _ = with_classifier(tiny_config)
    real = torch.rand(4, 3, 32, 32) * 2 - 1
    y = torch.tensor([0, 1, 2, 0])
    one_hot = torch.nn.functional.one_hot(y, K).float()
    model.eval()
    with torch.no_grad():
        a = model.critic_auxiliary_loss(real, model.discriminate_real(real, y)[1])[0]
        b = model.critic_auxiliary_loss(real, model.discriminate_real(real, one_hot)[1])[0]
    torch.testing.assert_close(a, b)


def test_the_classifier_learns_labels_it_can_see(tiny_config):
    """Dark images are label 0, bright ones label 1: a few steps on the critic term alone make D's
    classifier tell them apart, so the term G is pushed by means what it says."""
    model, _ = with_classifier(tiny_config)
    gen = torch.Generator().manual_seed(0)
    y = torch.tensor([0, 1] * 8)
    real = torch.rand(16, 3, 32, 32, generator=gen) * 0.5 + torch.where(y == 0, -1.0, 0.5)[:, None, None, None]
    opt = torch.optim.Adam(model.D.parameters(), lr=2e-3)
    for _ in range(30):
        opt.zero_grad()
        model.critic_auxiliary_loss(real, model.discriminate_real(real, y)[1])[0].backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        _, h = model.discriminate_with_features(real, y)
        assert torch.equal(model.D.classify(h).argmax(1), y)


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"conditional": False}, "needs --conditional"),
        ({"model": "vae"}, "has no auxiliary classifier"),
        ({"class_loss": -1.0}, "must be >= 0"),
    ],
)
def test_bad_class_loss_settings_name_the_flag(tiny_config, setting, message):
    tiny_config.loss.class_loss = setting.get("class_loss", 1.0)
    if setting.get("conditional", True):
        tiny_config.data.conditional = True
        tiny_config.data.label_names = ["a", "b"]
        tiny_config.model.num_classes = 2
    if "model" in setting:
        tiny_config.model.model = setting["model"]
    with pytest.raises(ConfigError, match=f"--class-loss.*{message}"):
        validate(resolve(tiny_config))
