"""The Stacked MNIST suite's pieces on a tiny fake MNIST."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from artistry.bench import mode_recipes, modes, stacked_mnist, trials


@pytest.fixture
def fake_mnist(tmp_path):
    rng = np.random.default_rng(0)
    lab = np.arange(200) % 10
    img = rng.integers(0, 256, (200, 28, 28)).astype(np.uint8)
    path = tmp_path / "mnist.npz"
    test = rng.integers(0, 256, (50, 28, 28)).astype(np.uint8)  # held out: not the training images
    np.savez(
        path,
        train_images=img,
        train_labels=lab.astype(np.uint8),
        test_images=test,
        test_labels=lab[:50].astype(np.uint8),
    )
    return path


def test_up_option_gives_the_stacked_generator_resize_upsampling(fake_mnist):
    assert mode_recipes.parse_recipe("bce+up=resize").settings == {"upsample": "resize"}
    mnist = stacked_mnist.load_mnist(fake_mnist)

    def layer_counts(spec: str) -> tuple[int, int]:
        """(Upsample, ConvTranspose2d) layers in the generator this recipe builds."""
        G = stacked_mnist.train_stacked(spec, mnist, steps=1, batch=4, ngf=4, ndf=4, log=lambda s: None).model.G
        return (
            sum(isinstance(m, nn.Upsample) for m in G.modules()),
            sum(isinstance(m, nn.ConvTranspose2d) for m in G.modules()),
        )

    # 32 px: three 2x up-samplings after the 4x4 stem (always a ConvTranspose from the noise)
    assert layer_counts("bce+up=resize") == (3, 1)
    assert layer_counts("bce") == (0, 4)


def test_classifier_is_trained_once_then_cached(fake_mnist, tmp_path, monkeypatch):
    clf, acc = stacked_mnist.mnist_classifier(fake_mnist, tmp_path / "clf", epochs=1, log=lambda s: None)
    # The reported number is this classifier's accuracy on the held-out split (not on the
    # training images, not of another model): 2 steps on noise, so its value is not the point.
    mnist = stacked_mnist.load_mnist(fake_mnist)
    test_x = torch.from_numpy(mnist["test_images"]).float()[:, None] / 127.5 - 1  # the [-1, 1] it trains on
    expected = float((clf.predict(test_x) == torch.from_numpy(mnist["test_labels"].astype(np.int64))).float().mean())
    assert acc == expected
    assert list((tmp_path / "clf").glob("*.safetensors"))

    def boom(*a, **k):
        raise AssertionError("retrained")

    monkeypatch.setattr(stacked_mnist, "train_classifier", boom)
    clf2, acc2 = stacked_mnist.mnist_classifier(fake_mnist, tmp_path / "clf", epochs=1, log=lambda s: None)
    assert acc2 == acc
    x = torch.randn(3, 1, 28, 28)
    assert torch.equal(clf.predict(x), clf2.predict(x))


def test_stacked_pieces(fake_mnist):
    mnist = stacked_mnist.load_mnist(fake_mnist)
    pool = stacked_mnist.stacked_pool(mnist)
    assert pool.shape == (250, 32, 32) and pool[:, :2].max() == 0  # padded 28 -> 32
    state = stacked_mnist.train_stacked("bce+pack2", mnist, steps=1, batch=4, ngf=4, ndf=4, log=lambda s: None)

    class ConstantDigits(torch.nn.Module):  # predicts digit = (sum of pixels > 0)
        def predict(self, x):
            return (x.flatten(1).sum(1) > 0).long()

    score = stacked_mnist.score_stacked_generator(state.sampling_generator(), ConstantDigits(), n=30, batch=16)
    assert 1 <= score.modes <= 8 and score.n_modes == 1000 and sum(score.counts) == 30


def test_stacked_drs_keeps_generated_images_and_widths_follow_the_recipe(fake_mnist):
    mnist = stacked_mnist.load_mnist(fake_mnist)
    state = stacked_mnist.train_stacked("bce+gw=6+dw=5", mnist, steps=1, batch=4, log=lambda s: None)

    def convs(net):
        return [m.out_channels for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]

    assert convs(state.model.G)[0] == 6 * 4 and convs(state.model.D)[0] == 5  # ngf 6, ndf 5 at 32 px
    assert stacked_mnist.stacked_sizes(mode_recipes.parse_recipe("bce+gw=6+dw=5"), batch=4) == {
        "batch": 4,
        "ngf": 6,
        "ndf": 5,
    }
    G = state.sampling_generator()
    kept, acceptance = stacked_mnist._rejection_stacked(
        G, stacked_mnist.stacked_stream(mnist, 1, 8), steps=2, n=40, seed=0
    )
    assert kept.shape == (40, 3, 32, 32) and 0 < acceptance <= 1
    assert kept.min() >= -1 and kept.max() <= 1  # G's tanh images, not real ones


def test_classify_stacked_crops_each_channel_and_reports_confidence():
    torch.manual_seed(0)
    clf = stacked_mnist.DigitClassifier()
    images = torch.rand(5, 3, 32, 32) * 2 - 1
    conf: list = []
    digits = stacked_mnist.classify_stacked(clf, images, conf)
    assert digits.shape == (5, 3) and digits.min() >= 0 and digits.max() <= 9
    assert len(conf) == 3 and all(0.0 <= c <= 1.0 for c in conf)
    # the padding is ignored: changing the 2-pixel border changes nothing
    border = images.clone()
    border[:, :, :2] = 1.0
    assert np.array_equal(stacked_mnist.classify_stacked(clf, border), digits)


def test_stacked_trial_scores_a_curve_and_saves_the_generator(fake_mnist, tmp_path, monkeypatch):
    from safetensors.torch import load_file

    scored = []

    def small_score(G, clf, n=0, nz=100, seed=0, batch=500, confidence=None):
        scored.append({k: v.clone() for k, v in G.state_dict().items()})  # G as it was when scored
        return score(G, clf, n=20, nz=nz, seed=seed, batch=batch, confidence=confidence)

    score = stacked_mnist.score_stacked_generator
    monkeypatch.setattr(stacked_mnist, "score_stacked_generator", small_score)
    r = stacked_mnist.stacked_trial(
        "bce+batch=4+gw=4+dw=4",
        "stacked",
        steps=5,
        seed=0,
        mnist_path=str(fake_mnist),
        cache_dir=str(tmp_path / "clf"),
        curve_every=2,
        save_dir=str(tmp_path / "gens"),
        log=lambda s: None,
    )
    assert [row[0] for row in r["curve"]] == [2, 4, 5]  # every 2 steps, then the final score
    assert r["sizes"] == {"batch": 4, "ngf": 4, "ndf": 4}  # the recipe's knobs, not the harness defaults
    assert r["curve"][-1][1:3] == [r["modes"], r["reverse_kl"]]
    assert all(1 <= row[1] <= 20 and 0.0 <= row[3] <= 1.0 for row in r["curve"])
    saved = load_file(tmp_path / "gens" / "bce+batch=4+gw=4+dw=4_5_seed0.safetensors")
    assert saved.keys() == scored[-1].keys() and all(torch.equal(saved[k], scored[-1][k]) for k in saved)
    assert not all(torch.equal(saved[k], scored[0][k]) for k in saved)  # the curve saw an earlier G
    r["seconds"] = 1.0
    report = modes.report_markdown({"bce": {"stacked": trials.summarize_trials([r])}, "_runs": []})
    assert f"bce, trial 0: 2: {r['curve'][0][1]} / " in report and f"5: {r['modes']} / {r['reverse_kl']:.3f}" in report
    assert (
        np.allclose(np.sum(r["digit_freq"], axis=1), 1.0, atol=1e-3) and 0.0 <= r["digit_kl"] <= r["reverse_kl"] + 1e-9
    )
    assert f"bce, trial 0: KL {r['reverse_kl']:.3f}, of which per-digit bias {r['digit_kl']:.3f}" in report


def test_classifier_trains_on_one_thread_and_restores_the_count(monkeypatch):
    seen = []
    monkeypatch.setattr(
        stacked_mnist, "_train_classifier", lambda *a: seen.append(torch.get_num_threads()) or ("clf", 0.99)
    )
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert stacked_mnist.train_classifier({}, log=lambda s: None) == ("clf", 0.99)
        assert seen == [1] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
