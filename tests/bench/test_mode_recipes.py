"""Benchmark recipes: parsing, their Config, the learning-rate tail."""

from __future__ import annotations

import pytest
import torch

from artistry.bench import mode_recipes, modes_2d
from artistry.errors import ConfigError


def test_parse_recipe():
    r = mode_recipes.parse_recipe("bce+pack4+mbstd+ema+r1=0.5+lr=1e-4+ncritic=2+dnorm=layer")
    assert r.loss == "bce" and r.pack == 4
    assert r.settings == {
        "pack": 4,
        "mbstd": True,
        "ema": True,
        "r1": 0.5,
        "lr_g": 1e-4,
        "lr_d": 1e-4,
        "n_critic": 2,
        "d_norm": "layer",
    }
    with pytest.raises(ConfigError, match="--losses"):
        mode_recipes.parse_recipe("lsgan")
    with pytest.raises(ConfigError, match="'packs'"):
        mode_recipes.parse_recipe("bce+packs")
    with pytest.raises(ConfigError, match="'up=bilinear'"):
        mode_recipes.parse_recipe("bce+up=bilinear")
    assert mode_recipes.parse_recipe("bce+mbdisc=50").settings == {"mbdisc": 50}
    with pytest.raises(ConfigError, match="'mbdisc=0'"):
        mode_recipes.parse_recipe("bce+mbdisc=0")


def test_expand_recipes():
    specs = [r.spec for r in mode_recipes.expand_recipes("bce,hinge", "none,pack2", None)]
    assert specs == ["bce", "bce+pack2", "hinge", "hinge+pack2"]
    assert [r.spec for r in mode_recipes.expand_recipes(None, None, None)] == mode_recipes.DEFAULT_RECIPES
    assert [r.spec for r in mode_recipes.expand_recipes("bce", None, "bce,wgan")] == ["bce", "wgan"]
    with pytest.raises(ConfigError, match="--options needs --losses"):
        mode_recipes.expand_recipes(None, "pack2", None)


def test_recipe_config_takes_the_loss_defaults_and_the_options():
    cfg = mode_recipes.recipe_config(
        mode_recipes.parse_recipe("wgan-gp+pack2+ema"), model="mlp", size=32, channels=1, batch=200, nz=2, d_norm="none"
    )
    assert (cfg.loss.pack, cfg.train.ema, cfg.loss.gp, cfg.loss.n_critic, cfg.optim.lr_g) == (2, True, 10.0, 5, 1e-4)


def test_tail_option_decays_the_learning_rates_over_the_last_steps():
    from artistry.training.state import TrainState, build_optimizers

    cfg = mode_recipes.recipe_config(
        mode_recipes.parse_recipe("bce+tail=0.5"), model="mlp", size=32, channels=1, batch=8, nz=2, d_norm="none"
    )
    assert cfg.train.lr_tail == 0.5
    model = modes_2d.toy_model(cfg, [8] * 2, [8] * 2)
    state = TrainState(
        model, build_optimizers(cfg, model), None, fixed_z=torch.zeros(1, 2), fixed_real=torch.zeros(1, 2)
    )
    seen = []
    mode_recipes.train_loop(
        state,
        cfg,
        lambda: torch.randn(8, 2),
        10,
        on_step=lambda i, logs: seen.append(state.optimizers["G"].param_groups[0]["lr"]),
    )
    lr = cfg.optim.lr_g
    assert seen[:5] == [lr] * 5  # full rate for the first half
    assert seen[5:] == pytest.approx([lr * (1 - i / 10) / 0.5 for i in range(5, 10)])  # then linear to ~0
