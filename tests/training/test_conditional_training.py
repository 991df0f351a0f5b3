"""Conditional runs end to end: labels recorded, grids one row per label, exact resume, LoadedRun."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

import artistry
from artistry.errors import ConfigError
from artistry.io import checkpoint as ckpt


def last_checkpoint(run_dir):
    return ckpt.load(ckpt.list_checkpoints(run_dir / "checkpoints")[-1][1])


@pytest.fixture
def cond_config(tiny_config):
    tiny_config.data.conditional = True
    tiny_config.data.min_label_images = 1  # the tiny folder has 12 images per label
    tiny_config.train.n_samples = 6
    return tiny_config


def test_a_conditional_run_records_its_labels_and_draws_a_row_per_label(cond_config):
    run = artistry.train(cond_config, progress=False)
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["data"]["label_names"] == ["a", "b"] and cfg["model"]["num_classes"] == 2
    tensors, meta = last_checkpoint(run)
    assert meta["label_names"] == ["a", "b"] and meta["label_frequencies"] == [0.5, 0.5]
    assert tensors["fixed.y"].tolist() == [0, 0, 0, 1, 1, 1]  # two rows of three
    grid = Image.open(sorted((run / "samples").glob("*.png"))[-1])
    assert grid.width > grid.height  # 3 columns by 2 rows
    assert "model.D.embed.weight" in tensors and tensors["model.D.embed.weight"].shape == (
        2,
        8 * 4,
    )  # D's last width at 32 px


def test_an_unconditional_run_has_no_labels(tiny_config):
    run = artistry.train(tiny_config, progress=False)
    tensors, meta = last_checkpoint(run)
    assert "fixed.y" not in tensors and meta["label_names"] == [] and meta["label_frequencies"] == []
    loaded = artistry.load(run)
    assert loaded.label_names == [] and loaded.num_classes == 0
    with pytest.raises(ConfigError, match="without --conditional"):
        loaded.generate(2, labels=torch.tensor([0, 1]))
    with pytest.raises(ConfigError, match="without --conditional"):
        loaded.label_weights("a", 2)


@pytest.mark.parametrize("class_loss", [0.0, 0.5])
def test_a_resumed_balanced_conditional_run_matches_an_uninterrupted_one(cond_config, class_loss):
    cond_config.loss.class_loss = class_loss  # 0.5: D's auxiliary classifier and its optimizer state resume too
    cond_config.data.balanced, cond_config.data.mirror = True, True
    cond_config.train.ema, cond_config.model.mbstd = True, True
    cond_config.train.augment = "color,translation,cutout"
    cond_config.train.steps, cond_config.train.name = 6, "full"
    full = artistry.train(cond_config, progress=False)
    cond_config.train.steps, cond_config.train.name = 3, "split"
    split = artistry.train(cond_config, progress=False)
    artistry.train(resume=split, overrides={"steps": 6}, progress=False)

    a, meta_a = last_checkpoint(full)
    b, meta_b = last_checkpoint(split)
    assert ("model.D.classifier.weight" in a) == (class_loss > 0)
    assert meta_a["step"] == meta_b["step"] == 6 and meta_a["loader"] == meta_b["loader"]
    assert meta_a["label_names"] == meta_b["label_names"] == ["a", "b"]
    assert torch.equal(a["fixed.y"], b["fixed.y"]) and torch.equal(a["fixed.z"], b["fixed.z"])
    for k in a:
        if k.startswith(("model.", "ema.", "optim.")):
            torch.testing.assert_close(a[k], b[k], rtol=1e-6, atol=1e-7, msg=k)


def test_resuming_on_data_whose_labels_changed_is_refused(cond_config, image_folder):
    run = artistry.train(cond_config, progress=False)
    (image_folder / "a").rename(image_folder / "c")
    with pytest.raises(ConfigError, match="trained on labels a, b, but its data .* now has b, c"):
        artistry.train(resume=run, overrides={"steps": 6}, progress=False)


def test_a_csv_gives_the_labels(cond_config, image_folder, tmp_path):
    files = sorted(p.relative_to(image_folder).as_posix() for p in image_folder.rglob("*.png"))
    rows = [f"{f},{'odd' if i % 2 else 'even'},{'x' if i < 18 else 'y'}" for i, f in enumerate(files)]
    csv = tmp_path / "labels.csv"
    csv.write_text("file,parity,group\n" + "\n".join(rows) + "\n")
    cond_config.data.labels, cond_config.data.label_column = str(csv), "parity"
    run = artistry.train(cond_config, progress=False)
    loaded = artistry.load(run)
    assert loaded.label_names == ["even", "odd"]
    labels = loaded.training_labels()
    assert labels.dtype == np.int64 and len(labels) == len(loaded.training_images()) == 24
    assert np.bincount(labels).tolist() == [12, 12]
    cond_config.data.label_column, cond_config.data.min_label_images = "group", 7  # y has 6 images
    with pytest.raises(ConfigError, match="'other' then has only 6 images"):
        artistry.train(cond_config, progress=False)


def test_a_loaded_conditional_run_generates_what_it_is_asked_for(cond_config):
    cond_config.train.ema = True
    loaded = artistry.load(artistry.train(cond_config, progress=False))
    assert loaded.label_names == ["a", "b"] and loaded.num_classes == 2
    z = loaded.latents(range(4))
    as_a = loaded.images_from_latents(z, labels=torch.zeros(4, dtype=torch.long))
    as_b = loaded.images_from_latents(z, labels=torch.ones(4, dtype=torch.long))
    assert as_a.shape == (4, 3, 32, 32) and not np.array_equal(as_a, as_b)
    weights = loaded.label_weights("a", 4)
    assert weights.shape == (4, 2) and weights[:, 0].eq(1).all()
    assert np.array_equal(loaded.images_from_latents(z, labels=weights), as_a)
    blend = loaded.label_weights("0.5*a+0.5*b", 4)
    assert torch.allclose(blend, torch.full((4, 2), 0.5))
    with pytest.raises(ConfigError, match="unknown label 'c'; this run knows: a, b"):
        loaded.label_weights("c", 1)
    with pytest.raises(ConfigError, match="class indices"):
        loaded.generate(2, labels=torch.tensor([0, 5]))
    # no labels: latents decode with the most frequent label (a walk keeps one label) ...
    assert np.array_equal(loaded.images_from_latents(z), as_a)  # a and b are equally frequent: the first
    # ... and each seed draws its own label, the same every time
    assert np.array_equal(loaded.generate(3, seed=4), loaded.generate(3, seed=4))
    assert np.array_equal(loaded.generate(2, seed=5), loaded.generate(3, seed=4)[1:])
