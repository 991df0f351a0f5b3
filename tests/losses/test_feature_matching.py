"""Generator feature matching (--fm): the statistic, the critic's feature pass, and the option on
every loss and GAN family."""

from __future__ import annotations

import pytest
import torch

from artistry.bench.mode_recipes import parse_recipe
from artistry.build import build_model
from artistry.config import Config, resolve
from artistry.errors import ConfigError
from artistry.losses.penalties import feature_matching

from .test_adversarial import FAMILIES, LOSSES, changed, make_cfg, run_steps


def test_feature_matching_is_the_squared_distance_between_batch_means():
    h_fake = torch.tensor([[1.0, 0.0], [3.0, 2.0]], requires_grad=True)  # mean (2, 1)
    h_real = torch.tensor([[0.0, 1.0], [0.0, 3.0], [0.0, 2.0]], requires_grad=True)  # mean (0, 2)
    fm = feature_matching(h_fake, h_real)
    assert float(fm.detach()) == pytest.approx(2.0**2 + 1.0**2)
    fm.backward()
    # d/dh_i of ||mean - m||^2 is 2 (mean - m) / N for every row; the real side gets nothing
    assert torch.allclose(h_fake.grad, torch.tensor([[2.0, -1.0], [2.0, -1.0]]))
    assert h_real.grad is None
    assert float(feature_matching(h_real[[2, 0, 1]], h_real).detach()) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("family", FAMILIES)
def test_the_feature_pass_gives_the_same_logits_as_discriminate(family):
    cfg = make_cfg("bce", family, pack=2, mbstd=True, mbdisc=3)
    torch.manual_seed(0)
    model, _ = build_model(cfg, torch.device("cpu"))
    model.eval()
    x = torch.rand(8, 3, 32, 32) * 2 - 1
    logits, h = model.discriminate_with_features(x)
    assert torch.allclose(logits, model.discriminate(x))
    assert h.dim() == 2 and h.shape[0] == 4  # one feature row per packed pair
    assert h.shape[1] == (4 * 4 * 16 if family == "dcgan" else model.D.head.in_features - 1 - 3)


def test_feature_matching_sees_a_batch_that_over_draws_one_kind_of_image():
    """Each image's own logit is the same in any batch (no batch layer), so only a batch
    statistic can tell a 50/50 mix of two images from an 80/20 one."""
    cfg = make_cfg("bce", "dcgan", d_norm="none")
    torch.manual_seed(0)
    model, _ = build_model(cfg, torch.device("cpu"))
    a, b = torch.rand(2, 3, 32, 32) * 2 - 1

    def batch(n_a: int, n: int = 10, seed: int = 0) -> torch.Tensor:
        g = torch.Generator().manual_seed(seed)
        x = torch.stack([a] * n_a + [b] * (n - n_a))
        return x + 0.01 * torch.randn(x.shape, generator=g)

    with torch.no_grad():
        real = model.discriminate_with_features(batch(5, seed=1))[1]
        fair = model.discriminate_with_features(batch(5, seed=2))[1]
        skewed = model.discriminate_with_features(batch(8, seed=3))[1]
    assert float(feature_matching(skewed, real)) > 50 * float(feature_matching(fair, real))


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("loss", LOSSES)
def test_fm_trains_with_every_loss_and_family(loss, family):
    state, before, logs, _ = run_steps(make_cfg(loss, family, fm=1.0, pack=2), steps=2)
    assert "fm" in logs[-1] and logs[-1]["fm"] > 0
    assert all(torch.isfinite(torch.as_tensor(v)) for v in logs[-1].values())
    assert changed(before, state.model, "G.") and changed(before, state.model, "D.")


def test_fm_changes_the_generator_step():
    _, _, plain, _ = run_steps(make_cfg("bce", "mlp"), steps=2)
    state, _, matched, _ = run_steps(make_cfg("bce", "mlp", fm=10.0), steps=2)
    assert "fm" not in plain[-1]
    assert matched[0]["loss_D"] == pytest.approx(plain[0]["loss_D"])  # same start ...
    assert matched[-1]["loss_G"] != pytest.approx(plain[-1]["loss_G"])  # ... G moved differently


def test_fm_flag_and_recipe_option_are_checked():
    cfg = Config()
    cfg.data.path, cfg.train.steps, cfg.loss.fm = "x", 1, -0.5
    with pytest.raises(ConfigError, match="--fm"):
        resolve(cfg)
    assert parse_recipe("bce+r1=1+fm=0.05").settings == {"r1": 1.0, "fm": 0.05}
    with pytest.raises(ConfigError, match="fm=W"):
        parse_recipe("bce+fm=lots")
