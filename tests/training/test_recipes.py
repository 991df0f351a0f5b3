"""Recipes resolve to their documented settings; flags win over them; misuse names the flag."""

from __future__ import annotations

import json

import pytest

from artistry.cli.main import app
from artistry.config import resolve
from artistry.errors import ConfigError
from artistry.recipes import RECIPES, config_from, parse_variant, split_variants


def test_classic_is_the_dcgan_paper():
    cfg = resolve(config_from("imgs", {}, "classic"))
    m, lo, o, t = cfg.model, cfg.loss, cfg.optim, cfg.train
    assert (m.model, lo.loss, m.nz, m.ngf, m.ndf, t.batch) == ("dcgan", "bce", 100, 64, 64, 128)
    assert (o.optimizer, o.lr_g, o.lr_d, o.beta1, o.beta2) == ("adam", 2e-4, 2e-4, 0.5, 0.999)
    assert not (t.ema or t.augment or cfg.data.mirror or m.mbstd or lo.r1 or t.lr_tail or t.eval_at)
    assert t.recipe == "classic" and m.upsample == "transpose"


def test_best_is_the_default_and_sets_its_documented_options():
    cfg = resolve(config_from("imgs", {}))
    t = cfg.train
    assert t.recipe == "best"
    assert (cfg.model.ngf, cfg.model.ndf, cfg.model.mbstd, cfg.data.mirror, t.ema) == (32, 32, True, True, True)
    assert cfg.model.upsample == "resize"
    assert (t.augment, t.ada_target, t.lr_tail, t.eval_at, t.eval_metric) == (
        "color,translation,cutout",
        0.0,
        0.2,
        "0.7",
        "kid",
    )


def test_given_flags_override_the_recipe_and_optimizer_follows_the_loss():
    cfg = resolve(config_from("imgs", {"ngf": 64, "loss": "hinge"}, "best"))
    assert cfg.model.ngf == 64 and cfg.model.ndf == 32
    assert (cfg.optim.beta1, cfg.optim.beta2) == (0.0, 0.9)  # hinge's paper, not DCGAN's


def test_hires_is_fastgan_with_the_papers_optimizer_and_bests_budget_rules():
    for cfg in (resolve(config_from("imgs", {}, "hires")), resolve(config_from("imgs", {"model": "fastgan"}))):
        m, lo, o, t = cfg.model, cfg.loss, cfg.optim, cfg.train
        assert t.recipe == "hires" and (m.model, lo.loss, lo.n_critic, m.d_norm) == ("fastgan", "hinge", 1, "batch")
        assert (m.nz, t.batch, o.lr_g, o.lr_d, o.beta1, o.beta2) == (256, 8, 2e-4, 2e-4, 0.5, 0.999)
        assert (t.augment, t.ema, t.lr_tail, t.eval_at, t.eval_metric) == (
            "color,translation,cutout",
            True,
            0.2,
            "0.7",
            "kid",
        )
    assert resolve(config_from("imgs", {"size": 1024}, "hires")).data.size == 1024


def test_best_gives_conditional_dcgan_runs_the_auxiliary_classifier_and_nothing_else():
    assert config_from("d", {}).loss.class_loss == 0.0  # unconditional: no labels to classify
    assert config_from("d", {"conditional": True}).loss.class_loss == 0.5
    assert config_from("d", {"labels": "l.csv"}).loss.class_loss == 0.5  # a CSV means conditional
    assert config_from("d", {"conditional": True, "class_loss": 0.0}).loss.class_loss == 0.0  # the flag wins
    assert config_from("d", {"conditional": True}, "classic").loss.class_loss == 0.0  # the paper's D only
    fastgan = config_from("d", {"conditional": True, "model": "fastgan"})
    assert fastgan.train.recipe == "hires" and fastgan.loss.class_loss == 0.0  # no classifier there
    assert config_from("d", {"conditional": True, "model": "fastgan"}, "best").loss.class_loss == 0.0


def test_mlp_stops_at_256px():
    with pytest.raises(ConfigError, match="--size: the mlp family goes up to 256 px"):
        resolve(config_from("imgs", {"model": "mlp", "size": 512}))


def test_vae_gets_no_recipe_and_refuses_one():
    assert config_from("imgs", {"model": "vae"}).train.recipe == ""
    with pytest.raises(ConfigError, match="--recipe"):
        config_from("imgs", {"model": "vae"}, "best")
    with pytest.raises(ConfigError, match="--recipe: unknown recipe 'fancy'"):
        config_from("imgs", {}, "fancy")


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_dry_run_shows_what_each_recipe_resolved_to(name, image_folder, capsys):
    assert app(["train", str(image_folder), "--recipe", name, "--ngf", "48", "--dry-run"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["train"]["recipe"] == name
    assert shown["model"]["ngf"] == 48
    assert shown["train"]["batch"] == RECIPES[name]["batch"]


def test_bad_recipe_flag_is_one_line(image_folder, capsys):
    assert app(["train", str(image_folder), "--recipe", "nope", "--dry-run"]) == 1
    err = capsys.readouterr().err
    assert "--recipe" in err and "Traceback" not in err


def test_best_recipe_takes_any_loss_and_adaptive_augmentation_needs_a_sign():
    assert resolve(config_from("imgs", {"loss": "wgan-gp"})).train.augment == "color,translation,cutout"
    assert resolve(config_from("imgs", {"augment": ""})).train.augment == ""
    with pytest.raises(ConfigError, match="--ada-target"):
        resolve(config_from("imgs", {"loss": "wgan", "ada_target": 0.6}))


def test_variants_change_named_settings_with_their_types():
    assert split_variants("classic, best[mbstd=false,lr-tail=0],best") == [
        "classic",
        "best[mbstd=false,lr-tail=0]",
        "best",
    ]
    recipe, changes = parse_variant("best[mbstd=false,lr-tail=0,upsample=resize,lr_d=4e-4,batch=32]")
    assert recipe == "best"
    assert changes == {"mbstd": False, "lr_tail": 0.0, "upsample": "resize", "lr_d": 4e-4, "batch": 32}
    assert isinstance(changes["batch"], int) and parse_variant("fast") == ("fast", {})
    cfg = config_from("x", changes, recipe)
    assert (cfg.model.mbstd, cfg.train.lr_tail, cfg.optim.lr_d, cfg.train.ema) == (False, 0.0, 4e-4, True)


def test_a_variant_value_may_hold_commas():
    recipe, changes = parse_variant("hires[ngf=8,augment=color,translation,batch=16]")
    assert (recipe, changes) == ("hires", {"ngf": 8, "augment": "color,translation", "batch": 16})
    assert config_from("x", changes, recipe).train.augment == "color,translation"


@pytest.mark.parametrize(
    "spec, says",
    [
        ("best[colour=red]", "unknown setting 'colour'"),
        ("best[mbstd=maybe]", "mbstd must be true or false"),
        ("best[batch=many]", "batch must be int"),
        ("best[mbstd]", "must be NAME=VALUE"),
        ("best[mbstd=true", "must end with ']'"),
        ("grand[mbstd=true]", "unknown recipe 'grand'"),
    ],
)
def test_bad_variants_say_what_is_wrong(spec, says):
    with pytest.raises(ConfigError, match=says.replace("[", r"\[")):
        parse_variant(spec)
