"""The 2-D suite of `artistry bench modes` (a few steps: plumbing, not quality) and its tables."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from artistry.bench import mode_recipes, modes, modes_2d, trials
from artistry.errors import ConfigError
from artistry.metrics.modes import score_mixture


@pytest.mark.parametrize("spec, loss", [("bce+pack2+ema", "bce"), ("hinge+mbstd", "hinge")])
def test_train_2d_runs_the_real_losses(spec, loss, monkeypatch):
    """The recipe's loss trains both networks, and the score is that of the samples drawn (a
    score of other samples, or unscaled ones, would not match)."""
    seen = {}
    real_loop = modes_2d.train_loop

    def spy(state, cfg, next_batch, steps, on_step=None):
        before = {k: v.clone() for k, v in state.model.state_dict().items()}
        real_loop(state, cfg, next_batch, steps, on_step)
        seen["loss"] = cfg.loss.loss
        seen["trained"] = {
            k.split(".")[0]
            for k, v in state.model.state_dict().items()
            if v.is_floating_point() and not torch.equal(v, before[k])
        }

    monkeypatch.setattr(modes_2d, "train_loop", spy)
    r = modes_2d.train_2d(
        spec, "ring", steps=3, seed=1, n_eval=200, g_widths=[16] * 4, d_widths=[16] * 3, keep_samples=True
    )
    assert seen["loss"] == loss and {"G", "D"} <= seen["trained"]
    assert r["finite"] and r["samples"].shape == (200, 2)
    again = score_mixture(r["samples"], "ring")
    assert (r["modes"], r["counts"], r["high_quality"]) == (again.modes, again.counts, again.high_quality)
    assert sum(r["counts"]) == round(r["high_quality"] * 200)
    r2 = modes_2d.train_2d(
        spec, "ring", steps=3, seed=1, n_eval=200, g_widths=[16] * 4, d_widths=[16] * 3, keep_samples=True
    )
    assert np.array_equal(r["samples"], r2["samples"])  # seeded: a trial can be repeated


def test_bench_knobs_set_the_batch_noise_size_and_widths(monkeypatch):
    seen = {}

    def capture(state, cfg, next_batch, steps, on_step=None):
        linears = lambda net: [m for m in net.modules() if isinstance(m, torch.nn.Linear)]  # noqa: E731
        seen.update(
            batch=tuple(next_batch().shape),
            nz=linears(state.model.G)[0].in_features,
            g=[m.out_features for m in linears(state.model.G)],
            d=[m.out_features for m in linears(state.model.D)],
        )

    monkeypatch.setattr(modes_2d, "train_loop", capture)
    r = modes_2d.train_2d("bce+pack2+batch=7+nz=5+gw=12+dw=6", "ring", steps=1, n_eval=50)
    assert seen == {"batch": (14, 2), "nz": 5, "g": [12, 12, 12, 12, 2], "d": [6, 6, 6, 1]}
    assert r["finite"]  # sampling draws 5-D noise too
    with pytest.raises(ConfigError, match="'batch=0'"):
        mode_recipes.parse_recipe("bce+batch=0")


def test_toy_model_is_two_dimensional_with_the_losses_critic():
    cfg = mode_recipes.recipe_config(
        mode_recipes.parse_recipe("hinge+pack2"), model="mlp", size=32, channels=1, batch=8, nz=2, d_norm="none"
    )
    model = modes_2d.toy_model(cfg, [8] * 4, [8] * 3)
    assert model.generate(torch.randn(6, 2)).shape == (6, 2)
    assert model.discriminate(torch.randn(6, 2)).shape == (3,)
    assert any(torch.nn.utils.parametrize.is_parametrized(m) for m in model.D.modules())


def test_suite_summary_and_tables(monkeypatch):
    def fake_train(spec, data, steps, seed):
        k = 8 if data == "ring" else 25
        return {
            "modes": k - seed % 2,
            "n_modes": k,
            "high_quality": 0.9,
            "reverse_kl": 0.1,
            "counts": [1] * k,
            "seconds": 1.0,
            "finite": True,
        }

    monkeypatch.setattr(modes_2d, "train_2d", fake_train)
    res = modes_2d.run_2d_suite([mode_recipes.parse_recipe("bce")], trials=2, steps=5, log=lambda s: None)
    ring = res["bce"]["ring"]
    assert ring["modes"][0] == pytest.approx(7.5) and ring["hq"][0] == pytest.approx(90.0)
    table = modes.format_tables({k: v for k, v in res.items() if k != "_meta"})
    assert "| PacGAN2 | 7.9 / 95.6 | 23.8 / 91.3 | 1000 / 0.06 |" in table
    assert "**ours: bce** | 7.5 ± 0.7 / 90.0 ± 0.0 | 24.5 ± 0.7 / 90.0 ± 0.0 | - |" in table


def test_drs_rows_show_the_generator_alone_and_the_acceptance(monkeypatch):
    def fake_train(spec, data, steps, seed):
        k = 8 if data == "ring" else 25
        return {
            "modes": k,
            "n_modes": k,
            "high_quality": 0.99,
            "reverse_kl": 0.05,
            "counts": [1] * k,
            "seconds": 1.0,
            "finite": True,
            "acceptance": 0.02 + 0.02 * seed,
            "before_drs": {"modes": k - 1, "high_quality": 0.5, "reverse_kl": 0.2},
        }

    monkeypatch.setattr(modes_2d, "train_2d", fake_train)
    res = modes_2d.run_2d_suite([mode_recipes.parse_recipe("bce+drs")], trials=2, steps=5, log=lambda s: None)
    grid = res["bce+drs"]["grid"]
    assert grid["before_drs"]["hq"][0] == pytest.approx(50.0) and grid["acceptance"][0] == pytest.approx(0.03)
    table = modes.format_tables({k: v for k, v in res.items() if k != "_meta"})
    assert "| ours: bce+drs, G alone (no rejection) | 7.0 ± 0.0 / 50.0 ± 0.0 | 24.0 ± 0.0 / 50.0 ± 0.0 | - |" in table
    assert "| 3.0% / 3.0% / - |" in table
    stacked = trials.summarize_trials(
        [
            {
                "modes": 990,
                "n_modes": 1000,
                "high_quality": 0.0,
                "reverse_kl": 0.1,
                "seconds": 9.0,
                "acceptance": 0.2,
                "before_drs": {"modes": 980, "high_quality": 0.0, "reverse_kl": 0.3},
            }
        ]
    )
    table = modes.format_tables({"bce+drs": {"stacked": stacked}})
    assert "| ours: bce+drs, G alone (no rejection) | - | - | 980 / 0.30 |" in table
    assert "| - / - / 20.0% |" in table


def test_train_2d_with_drs_scores_the_kept_samples_and_the_generator_alone():
    r = modes_2d.train_2d(
        "bce+drs=5", "ring", steps=3, seed=1, n_eval=100, g_widths=[16] * 4, d_widths=[16] * 3, keep_samples=True
    )
    assert r["finite"] and sum(r["counts"]) <= 100 and 0 < r["acceptance"] <= 1
    assert set(r["before_drs"]) == {"modes", "high_quality", "reverse_kl"}
    assert r["samples"].shape == (100, 2) and r["samples_before_drs"].shape == (100, 2)
    assert score_mixture(r["samples"], "ring").high_quality == r["high_quality"]
