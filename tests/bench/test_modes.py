"""Mode counting on hand-built sample sets with known answers, and the bench harness plumbing."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from artistry.bench import modes as bench
from artistry.errors import ConfigError
from artistry.metrics.modes import (grid_means, mixture, reverse_kl, ring_means, sample_mixture, score_2d,
                                    score_mixture, score_stacked)


# --- the metric ----------------------------------------------------------------------------------
def test_mixture_definitions_match_pacgan():
    ring = ring_means()
    assert ring.shape == (8, 2) and np.allclose(np.linalg.norm(ring, axis=1), 1.0)
    assert np.allclose(ring[2], [0, 1], atol=1e-12)
    grid = grid_means()
    assert grid.shape == (25, 2) and set(np.unique(grid)) == {-4.0, -2.0, 0.0, 2.0, 4.0}
    assert mixture("ring")[1] == 0.01 and mixture("grid")[1] == 0.05
    with pytest.raises(ValueError, match="ring, grid"):
        mixture("spiral")


def test_samples_from_the_target_itself_score_perfectly():
    rng = np.random.default_rng(0)
    for name, k in (("ring", 8), ("grid", 25)):
        s = score_mixture(sample_mixture(name, 2500, rng), name)
        assert s.modes == k
        assert s.high_quality > 0.98          # 3 sigma keeps ~98.9 % of a 2-D Gaussian
        assert s.reverse_kl < 0.02


def test_collapse_onto_one_mode():
    x = np.tile(ring_means()[3], (100, 1))
    s = score_mixture(x, "ring")
    assert (s.modes, s.high_quality) == (1, 1.0)
    assert s.reverse_kl == pytest.approx(math.log(8))
    assert s.counts[3] == 100


def test_high_quality_threshold_is_three_sigma():
    m = ring_means()[0]
    inside = m + np.array([0.0, 2.9 * 0.01])
    outside = m + np.array([0.0, 3.1 * 0.01])
    s = score_mixture(np.stack([inside, outside]), "ring")
    assert s.high_quality == 0.5 and s.modes == 1
    # a mode hit only by low-quality samples is not captured
    s = score_mixture(np.stack([outside] * 5 + [ring_means()[4]]), "ring")
    assert s.modes == 1 and s.counts[0] == 0 and s.counts[4] == 1


def test_counts_use_the_nearest_mode_and_kl_only_high_quality_samples():
    means = grid_means()
    x = np.concatenate([np.tile(means[0], (30, 1)), np.tile(means[24], (10, 1)),
                        np.full((60, 2), 1.0)])                 # 60 points between modes
    s = score_2d(x, means, 0.05)
    assert s.modes == 2 and s.high_quality == pytest.approx(0.4)
    p = np.array([0.75, 0.25])
    assert s.reverse_kl == pytest.approx(float(np.sum(p * np.log(p * 25))))


def test_reverse_kl_formula():
    assert reverse_kl(np.array([5, 5, 5, 5])) == pytest.approx(0.0)
    assert reverse_kl(np.array([3, 1, 0, 0])) == pytest.approx(0.75 * math.log(3))
    assert math.isnan(reverse_kl(np.zeros(4)))


def test_stacked_mnist_modes_and_kl():
    all_modes = np.array([(a, b, c) for a in range(10) for b in range(10) for c in range(10)])
    s = score_stacked(np.concatenate([all_modes, all_modes]))
    assert (s.modes, s.n_modes) == (1000, 1000) and s.reverse_kl == pytest.approx(0.0, abs=1e-12)
    s = score_stacked(np.tile([[1, 2, 3]], (26, 1)))
    assert s.modes == 1 and s.reverse_kl == pytest.approx(math.log(1000))
    assert s.counts[123] == 26   # mode index is the three digits read as a number
    s = score_stacked(np.array([[0, 0, 0], [0, 0, 1], [0, 0, 1], [9, 9, 9]]))
    assert s.modes == 3


# --- recipes ---------------------------------------------------------------------------------------
def test_parse_recipe():
    r = bench.parse_recipe("bce+pack4+mbstd+ema+r1=0.5+lr=1e-4+ncritic=2+dnorm=layer")
    assert r.loss == "bce" and r.pack == 4
    assert r.settings == {"pack": 4, "mbstd": True, "ema": True, "r1": 0.5, "lr_g": 1e-4, "lr_d": 1e-4,
                          "n_critic": 2, "d_norm": "layer"}
    with pytest.raises(ConfigError, match="--losses"):
        bench.parse_recipe("lsgan")
    with pytest.raises(ConfigError, match="'packs'"):
        bench.parse_recipe("bce+packs")
    with pytest.raises(ConfigError, match="'up=bilinear'"):
        bench.parse_recipe("bce+up=bilinear")


def test_up_option_gives_the_stacked_generator_resize_upsampling(fake_mnist):
    assert bench.parse_recipe("bce+up=resize").settings == {"upsample": "resize"}
    mnist = bench.load_mnist(fake_mnist)

    def layer_count(spec: str, kind: type) -> int:
        G = bench.train_stacked(spec, mnist, steps=1, batch=4, ngf=4, ndf=4, log=lambda s: None).model.G
        return sum(isinstance(m, kind) for m in G.modules())
    # 32 px: three 2x up-samplings after the 4x4 stem (always a ConvTranspose from the noise)
    assert layer_count("bce+up=resize", nn.Upsample) == 3 and layer_count("bce+up=resize", nn.ConvTranspose2d) == 1
    assert layer_count("bce", nn.Upsample) == 0 and layer_count("bce", nn.ConvTranspose2d) == 4


def test_expand_recipes():
    specs = [r.spec for r in bench.expand_recipes("bce,hinge", "none,pack2", None)]
    assert specs == ["bce", "bce+pack2", "hinge", "hinge+pack2"]
    assert [r.spec for r in bench.expand_recipes(None, None, None)] == bench.DEFAULT_RECIPES
    assert [r.spec for r in bench.expand_recipes("bce", None, "bce,wgan")] == ["bce", "wgan"]
    with pytest.raises(ConfigError, match="--options needs --losses"):
        bench.expand_recipes(None, "pack2", None)


def test_recipe_config_takes_the_loss_defaults_and_the_options():
    cfg = bench.recipe_config(bench.parse_recipe("wgan-gp+pack2+ema"), model="mlp", size=32, channels=1,
                              batch=200, nz=2, d_norm="none")
    assert (cfg.loss.pack, cfg.train.ema, cfg.loss.gp, cfg.loss.n_critic, cfg.optim.lr_g) == (2, True, 10.0, 5, 1e-4)


# --- the harness (a few steps: plumbing, not quality) ---------------------------------------------
@pytest.mark.parametrize("spec", ["bce+pack2+ema", "hinge+mbstd"])
def test_train_2d_runs_the_real_losses(spec):
    r = bench.train_2d(spec, "ring", steps=3, seed=1, n_eval=200, g_widths=[16] * 4, d_widths=[16] * 3)
    assert r["finite"] and r["n_modes"] == 8 and 0 <= r["modes"] <= 8 and len(r["counts"]) == 8
    assert r["seconds"] > 0


def test_bench_knobs_set_the_batch_noise_size_and_widths(monkeypatch):
    seen = {}

    def capture(state, cfg, next_batch, steps, on_step=None):
        linears = lambda net: [m for m in net.modules() if isinstance(m, torch.nn.Linear)]  # noqa: E731
        seen.update(batch=tuple(next_batch().shape), nz=linears(state.model.G)[0].in_features,
                    g=[m.out_features for m in linears(state.model.G)],
                    d=[m.out_features for m in linears(state.model.D)])

    monkeypatch.setattr(bench, "_loop", capture)
    r = bench.train_2d("bce+pack2+batch=7+nz=5+gw=12+dw=6", "ring", steps=1, n_eval=50)
    assert seen == {"batch": (14, 2), "nz": 5, "g": [12, 12, 12, 12, 2], "d": [6, 6, 6, 1]}
    assert r["finite"]  # sampling draws 5-D noise too
    with pytest.raises(ConfigError, match="'batch=0'"):
        bench.parse_recipe("bce+batch=0")


def test_tail_option_decays_the_learning_rates_over_the_last_steps():
    from artistry.training.state import TrainState, build_optimizers

    cfg = bench.recipe_config(bench.parse_recipe("bce+tail=0.5"), model="mlp", size=32, channels=1,
                              batch=8, nz=2, d_norm="none")
    assert cfg.train.lr_tail == 0.5
    model = bench.toy_model(cfg, [8] * 2, [8] * 2)
    state = TrainState(model, build_optimizers(cfg, model), None, fixed_z=torch.zeros(1, 2),
                       fixed_real=torch.zeros(1, 2))
    seen = []
    bench._loop(state, cfg, lambda: torch.randn(8, 2), 10,
                on_step=lambda i, logs: seen.append(state.optimizers["G"].param_groups[0]["lr"]))
    lr = cfg.optim.lr_g
    assert seen[:5] == [lr] * 5  # full rate for the first half
    assert seen[5:] == pytest.approx([lr * (1 - i / 10) / 0.5 for i in range(5, 10)])  # then linear to ~0


def test_toy_model_is_two_dimensional_with_the_losses_critic():
    cfg = bench.recipe_config(bench.parse_recipe("hinge+pack2"), model="mlp", size=32, channels=1,
                              batch=8, nz=2, d_norm="none")
    model = bench.toy_model(cfg, [8] * 4, [8] * 3)
    assert model.generate(torch.randn(6, 2)).shape == (6, 2)
    assert model.discriminate(torch.randn(6, 2)).shape == (3,)
    assert any(torch.nn.utils.parametrize.is_parametrized(m) for m in model.D.modules())


def test_suite_summary_and_tables(monkeypatch):
    def fake_train(spec, data, steps, seed):
        k = 8 if data == "ring" else 25
        return {"modes": k - seed % 2, "n_modes": k, "high_quality": 0.9, "reverse_kl": 0.1,
                "counts": [1] * k, "seconds": 1.0, "finite": True}
    monkeypatch.setattr(bench, "train_2d", fake_train)
    res = bench.run_2d_suite([bench.parse_recipe("bce")], trials=2, steps=5, log=lambda s: None)
    ring = res["bce"]["ring"]
    assert ring["modes"][0] == pytest.approx(7.5) and ring["hq"][0] == pytest.approx(90.0)
    table = bench.format_tables({k: v for k, v in res.items() if k != "_meta"})
    assert "| PacGAN2 | 7.9 / 95.6 | 23.8 / 91.3 | 1000 / 0.06 |" in table
    assert "**ours: bce** | 7.5 ± 0.7 / 90.0 ± 0.0 | 24.5 ± 0.7 / 90.0 ± 0.0 | - |" in table


def test_drs_rows_show_the_generator_alone_and_the_acceptance(monkeypatch):
    def fake_train(spec, data, steps, seed):
        k = 8 if data == "ring" else 25
        return {"modes": k, "n_modes": k, "high_quality": 0.99, "reverse_kl": 0.05, "counts": [1] * k,
                "seconds": 1.0, "finite": True, "acceptance": 0.02 + 0.02 * seed,
                "before_drs": {"modes": k - 1, "high_quality": 0.5, "reverse_kl": 0.2}}
    monkeypatch.setattr(bench, "train_2d", fake_train)
    res = bench.run_2d_suite([bench.parse_recipe("bce+drs")], trials=2, steps=5, log=lambda s: None)
    grid = res["bce+drs"]["grid"]
    assert grid["before_drs"]["hq"][0] == pytest.approx(50.0) and grid["acceptance"][0] == pytest.approx(0.03)
    table = bench.format_tables({k: v for k, v in res.items() if k != "_meta"})
    assert "| ours: bce+drs, G alone (no rejection) | 7.0 ± 0.0 / 50.0 ± 0.0 | 24.0 ± 0.0 / 50.0 ± 0.0 | - |" in table
    assert "| 3.0% / 3.0% / - |" in table
    stacked = bench.summarize_trials([{"modes": 990, "n_modes": 1000, "high_quality": 0.0, "reverse_kl": 0.1,
                                       "seconds": 9.0, "acceptance": 0.2,
                                       "before_drs": {"modes": 980, "high_quality": 0.0, "reverse_kl": 0.3}}])
    table = bench.format_tables({"bce+drs": {"stacked": stacked}})
    assert "| ours: bce+drs, G alone (no rejection) | - | - | 980 / 0.30 |" in table
    assert "| - / - / 20.0% |" in table


def test_train_2d_with_drs_scores_the_kept_samples_and_the_generator_alone():
    r = bench.train_2d("bce+drs=5", "ring", steps=3, seed=1, n_eval=100, g_widths=[16] * 4, d_widths=[16] * 3,
                       keep_samples=True)
    assert r["finite"] and sum(r["counts"]) <= 100 and 0 < r["acceptance"] <= 1
    assert set(r["before_drs"]) == {"modes", "high_quality", "reverse_kl"}
    assert r["samples"].shape == (100, 2) and r["samples_before_drs"].shape == (100, 2)
    assert score_mixture(r["samples"], "ring").high_quality == r["high_quality"]


def test_cli_bench_modes_writes_and_merges_the_report(tmp_path, monkeypatch, capsys):
    from artistry.cli.main import app
    monkeypatch.setattr(bench, "TOY_G", [8] * 4)
    monkeypatch.setattr(bench, "TOY_D", [8] * 3)
    monkeypatch.setattr(bench, "TOY_EVAL", 100)
    out = tmp_path / "modes.md"
    assert app(["bench", "modes", "--recipes", "bce", "--trials", "1", "--steps", "2", "--out", str(out)]) == 0
    assert app(["bench", "modes", "--recipes", "wgan", "--trials", "1", "--steps", "1", "--out", str(out)]) == 0
    data = json.loads(out.with_suffix(".json").read_text())
    assert {"bce", "wgan"} <= set(data) and data["bce"]["ring"]["trials"] == 1
    assert [r["suite"] for r in data["_runs"]] == ["2d", "2d"]   # both invocations are recorded
    assert data["_runs"][0]["command"].startswith("artistry bench modes --suite 2d --recipes bce --trials 1")
    assert "--workers" not in data["_runs"][0]["command"]          # defaults are left out
    text = out.read_text()
    assert "ours: bce" in text and "ours: wgan" in text and "artistry bench modes" in text
    assert "GAN (VEEGAN paper)" in capsys.readouterr().out
    assert app(["bench", "modes", "--trials", "0"]) == 1
    assert app(["bench", "modes", "--stacked-curve", "-1"]) == 1
    assert app(["bench", "modes", "--suite", "stacked", "--trials", "2"]) == 1   # that flag is the 2-D suite's
    assert "--stacked-trials" in capsys.readouterr().err


# --- Stacked MNIST pieces on a tiny fake MNIST ------------------------------------------------------
@pytest.fixture
def fake_mnist(tmp_path):
    rng = np.random.default_rng(0)
    lab = np.arange(200) % 10
    img = rng.integers(0, 256, (200, 28, 28)).astype(np.uint8)
    path = tmp_path / "mnist.npz"
    np.savez(path, train_images=img, train_labels=lab.astype(np.uint8), test_images=img[:50],
             test_labels=lab[:50].astype(np.uint8))
    return path


def test_classifier_is_trained_once_then_cached(fake_mnist, tmp_path, monkeypatch):
    clf, acc = bench.mnist_classifier(fake_mnist, tmp_path / "clf", epochs=1, log=lambda s: None)
    assert 0.0 <= acc <= 1.0   # 2 optimizer steps on 200 fake digits: accuracy is not the point here
    assert list((tmp_path / "clf").glob("*.safetensors"))

    def boom(*a, **k):
        raise AssertionError("retrained")
    monkeypatch.setattr(bench, "train_classifier", boom)
    clf2, acc2 = bench.mnist_classifier(fake_mnist, tmp_path / "clf", epochs=1, log=lambda s: None)
    assert acc2 == acc
    x = torch.randn(3, 1, 28, 28)
    assert torch.equal(clf.predict(x), clf2.predict(x))


def test_stacked_pieces(fake_mnist):
    mnist = bench.load_mnist(fake_mnist)
    pool = bench.stacked_pool(mnist)
    assert pool.shape == (250, 32, 32) and pool[:, :2].max() == 0   # padded 28 -> 32
    state = bench.train_stacked("bce+pack2", mnist, steps=1, batch=4, ngf=4, ndf=4, log=lambda s: None)

    class ConstantDigits(torch.nn.Module):  # predicts digit = (sum of pixels > 0)
        def predict(self, x):
            return (x.flatten(1).sum(1) > 0).long()
    score = bench.score_stacked_generator(state.sampling_generator(), ConstantDigits(), n=30, batch=16)
    assert 1 <= score.modes <= 8 and score.n_modes == 1000 and sum(score.counts) == 30


def test_stacked_drs_keeps_generated_images_and_widths_follow_the_recipe(fake_mnist):
    mnist = bench.load_mnist(fake_mnist)
    state = bench.train_stacked("bce+gw=6+dw=5", mnist, steps=1, batch=4, log=lambda s: None)
    convs = lambda net: [m.out_channels for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]  # noqa: E731
    assert convs(state.model.G)[0] == 6 * 4 and convs(state.model.D)[0] == 5   # ngf 6, ndf 5 at 32 px
    assert bench.stacked_sizes(bench.parse_recipe("bce+gw=6+dw=5"), batch=4) == {"batch": 4, "ngf": 6, "ndf": 5}
    G = state.sampling_generator()
    kept, acceptance = bench._rejection_stacked(G, bench.stacked_stream(mnist, 1, 8), steps=2, n=40, seed=0)
    assert kept.shape == (40, 3, 32, 32) and 0 < acceptance <= 1
    assert kept.min() >= -1 and kept.max() <= 1   # G's tanh images, not real ones


def test_classify_stacked_crops_each_channel_and_reports_confidence():
    torch.manual_seed(0)
    clf = bench.DigitClassifier()
    images = torch.rand(5, 3, 32, 32) * 2 - 1
    conf: list = []
    digits = bench.classify_stacked(clf, images, conf)
    assert digits.shape == (5, 3) and digits.min() >= 0 and digits.max() <= 9
    assert len(conf) == 3 and all(0.0 <= c <= 1.0 for c in conf)
    # the padding is ignored: changing the 2-pixel border changes nothing
    border = images.clone()
    border[:, :, :2] = 1.0
    assert np.array_equal(bench.classify_stacked(clf, border), digits)


def test_stacked_trial_scores_a_curve_and_saves_the_generator(fake_mnist, tmp_path, monkeypatch):
    from safetensors.torch import load_file
    scored = []

    def small_score(G, clf, n=0, nz=100, seed=0, batch=500, confidence=None):
        scored.append({k: v.clone() for k, v in G.state_dict().items()})   # G as it was when scored
        return score(G, clf, n=20, nz=nz, seed=seed, batch=batch, confidence=confidence)
    score = bench.score_stacked_generator
    monkeypatch.setattr(bench, "score_stacked_generator", small_score)
    r = bench.stacked_trial("bce+batch=4+gw=4+dw=4", "stacked", steps=5, seed=0, mnist_path=str(fake_mnist),
                            cache_dir=str(tmp_path / "clf"), curve_every=2, save_dir=str(tmp_path / "gens"),
                            log=lambda s: None)
    assert [row[0] for row in r["curve"]] == [2, 4, 5]   # every 2 steps, then the final score
    assert r["sizes"] == {"batch": 4, "ngf": 4, "ndf": 4}   # the recipe's knobs, not the harness defaults
    assert r["curve"][-1][1:3] == [r["modes"], r["reverse_kl"]]
    assert all(1 <= row[1] <= 20 and 0.0 <= row[3] <= 1.0 for row in r["curve"])
    saved = load_file(tmp_path / "gens" / "bce+batch=4+gw=4+dw=4_5_seed0.safetensors")
    assert saved.keys() == scored[-1].keys() and all(torch.equal(saved[k], scored[-1][k]) for k in saved)
    assert not all(torch.equal(saved[k], scored[0][k]) for k in saved)   # the curve saw an earlier G
    r["seconds"] = 1.0
    report = bench.report_markdown({"bce": {"stacked": bench.summarize_trials([r])}, "_runs": []})
    assert f"bce, trial 0: 2: {r['curve'][0][1]} / " in report and f"5: {r['modes']} / {r['reverse_kl']:.3f}" in report
