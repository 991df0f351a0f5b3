"""Label agreement: does a conditional run paint the label it is asked for?

A small CNN learns the labels from the real images at the run's size (a stratified, seeded
held-out split measures its accuracy); then the label agreement of generated images is the share
of images asked for label L that it classifies as L, overall and per label. The number means
something only next to the classifier's accuracy on real held-out images: a generator whose
samples are as recognisable as real paintings scores about that accuracy (issue 27's goal is at
least 0.8 of it), one that ignores its labels scores about chance.

The classifier is trained once per dataset, labels and settings, and cached as safetensors (its
held-out accuracies in the metadata) under <cache root>/label_classifier/. Like the Stacked MNIST
digit classifier it trains on one thread, so every machine gets the same ruler.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

CLASSIFIER_VERSION = 1  # bump when the network or its training changes: cached classifiers retrain
HELD_OUT_SHARE = 0.2
EPOCHS = 40
BATCH = 64
MAX_INPUT = 64  # larger images are area-downsampled to 64 px first: style shows at 64 px, cost stays small
WIDTHS = (32, 64, 128, 256)

Log = Callable[[str], None]


class LabelClassifier(nn.Module):
    """Stride-2 conv blocks (conv + BN + ReLU) down to 4x4, global average pool, dropout, linear.

    Args:
        num_classes: labels to tell apart.
        channels: image channels (1 or 3).
        size: image side; inputs larger than 64 px are area-downsampled to 64 px first.
    """

    def __init__(self, num_classes: int, channels: int, size: int):
        super().__init__()
        self.input_size = min(size, MAX_INPUT)
        blocks, c_in, side = [], channels, self.input_size
        for width in WIDTHS:
            if side <= 4 and blocks:
                break
            blocks += [nn.Conv2d(c_in, width, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
            c_in, side = width, side // 2
        self.features = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(c_in, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [N, C, S, S] in [-1, 1] -> logits [N, K]
        if x.shape[-1] != self.input_size:
            x = F.interpolate(x, size=(self.input_size, self.input_size), mode="area")
        return self.head(self.features(x).mean(dim=(2, 3)))

    @torch.no_grad()
    def predict(self, images: np.ndarray, batch: int = 256) -> np.ndarray:
        """uint8 images [N, C, S, S] -> predicted label indices, int64 [N]."""
        self.eval()
        out = [self(_to_unit(images[i : i + batch])).argmax(1) for i in range(0, len(images), batch)]
        return torch.cat(out).numpy() if out else np.zeros(0, np.int64)


@dataclass
class TrainedClassifier:
    """A label classifier and how well it does on real images it never trained on."""

    model: LabelClassifier
    label_names: list[str]
    accuracy: float  # share of held-out real images classified correctly
    per_label_accuracy: dict[str, float | None] = field(
        default_factory=dict
    )  # held-out recall; None: no held-out image
    n_train: int = 0
    n_held_out: int = 0
    majority_share: float = float("nan")  # the most frequent label's share: what always guessing it scores
    epochs: int = EPOCHS
    cached: bool = False
    seconds: float = 0.0

    @property
    def balanced_accuracy(self) -> float:
        """Mean of the per-label held-out accuracies (labels with held-out images)."""
        values = [v for v in self.per_label_accuracy.values() if v is not None]
        return float(np.mean(values)) if values else float("nan")

    def summary(self) -> dict:
        return {
            "accuracy": self.accuracy,
            "balanced_accuracy": self.balanced_accuracy,
            "per_label_accuracy": self.per_label_accuracy,
            "n_train": self.n_train,
            "n_held_out": self.n_held_out,
            "majority_share": self.majority_share,
            "epochs": self.epochs,
            "held_out_share": HELD_OUT_SHARE,
            "network": f"LabelClassifier v{CLASSIFIER_VERSION} (stride-2 conv blocks {list(WIDTHS)}, "
            f"input {self.model.input_size} px)",
        }


def _to_unit(u8: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.asarray(u8, dtype=np.float32)).div_(127.5).sub_(1.0)


def stratified_split(labels: np.ndarray, share: float = HELD_OUT_SHARE, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, held_out): round(share * n) images of every label held out, at least one of a label
    with two or more images and never its last one; the choice is fixed by `seed`."""
    rng = np.random.default_rng(seed)
    held = []
    for label in np.unique(labels):
        idx = np.flatnonzero(labels == label)
        k = min(max(round(share * len(idx)), 1), len(idx) - 1)
        held.append(rng.permutation(idx)[:k])
    held_out = np.sort(np.concatenate(held)) if held else np.zeros(0, np.int64)
    train = np.setdiff1d(np.arange(len(labels)), held_out)
    return train, held_out


def train_label_classifier(
    images: np.ndarray,
    labels: np.ndarray,
    label_names: list[str],
    *,
    epochs: int = EPOCHS,
    seed: int = 0,
    log: Log = print,
) -> TrainedClassifier:
    """Train on a stratified share of the real images, measure on the rest (see the module docstring).

    Args:
        images: uint8 [N, C, S, S], the prepared real images.
        labels: int64 [N], indices into label_names.
        epochs: passes over the training share (AdamW, one-cycle learning rate, random flips and shifts).
    """
    threads, rng_state = torch.get_num_threads(), torch.get_rng_state()
    torch.set_num_threads(1)  # the thread count changes float reduction order, and so the weights
    torch.manual_seed(seed)  # the initial weights and dropout; the caller's stream is put back after
    try:
        return _train(np.asarray(images), np.asarray(labels, dtype=np.int64), list(label_names), epochs, seed, log)
    finally:
        torch.set_num_threads(threads)
        torch.set_rng_state(rng_state)


def _train(images, labels, label_names, epochs, seed, log) -> TrainedClassifier:
    tic = time.perf_counter()
    train_idx, held_idx = stratified_split(labels, seed=seed)
    gen = torch.Generator().manual_seed(seed)  # batch order and augmentation
    model = LabelClassifier(len(label_names), images.shape[1], images.shape[-1])
    x = _to_unit(images[train_idx])  # [n, C, S, S]
    y = torch.from_numpy(labels[train_idx])
    steps_per_epoch = math.ceil(len(x) / BATCH)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=4e-3, total_steps=epochs * steps_per_epoch)
    shift = max(1, images.shape[-1] // 8)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), BATCH):
            idx = order[i : i + BATCH]
            xb = _augment(x[idx], shift, gen)
            loss = F.cross_entropy(model(xb), y[idx], label_smoothing=0.1)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        if (epoch + 1) % 10 == 0 or epoch + 1 == epochs:
            log(f"  label classifier: epoch {epoch + 1}/{epochs} ({time.perf_counter() - tic:.0f} s)")
    predicted = model.predict(images[held_idx])
    truth = labels[held_idx]
    per_label = {}
    for i, name in enumerate(label_names):
        mask = truth == i
        per_label[name] = float((predicted[mask] == i).mean()) if mask.any() else None
    accuracy = float((predicted == truth).mean()) if len(truth) else float("nan")
    return TrainedClassifier(
        model.eval(),
        label_names,
        accuracy,
        per_label,
        n_train=len(train_idx),
        n_held_out=len(held_idx),
        majority_share=float(np.bincount(labels).max() / len(labels)),
        epochs=epochs,
        seconds=time.perf_counter() - tic,
    )


def _augment(x: torch.Tensor, shift: int, gen: torch.Generator) -> torch.Tensor:
    """Random horizontal flips per image and one random shift (reflect-padded crop) per batch."""
    flip = torch.rand(len(x), generator=gen) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    dy, dx = (int(v) for v in torch.randint(0, 2 * shift + 1, (2,), generator=gen))
    padded = F.pad(x, (shift, shift, shift, shift), mode="reflect")
    s = x.shape[-1]
    return padded[..., dy : dy + s, dx : dx + s]


def cached_label_classifier(
    images: np.ndarray,
    labels: np.ndarray,
    label_names: list[str],
    dataset_key: str,
    cache_dir: str | Path | None = None,
    *,
    epochs: int = EPOCHS,
    seed: int = 0,
    log: Log = print,
) -> TrainedClassifier:
    """The classifier for this dataset + labels + settings: from the cache, or trained now and cached.

    Args:
        dataset_key: the prepared dataset's content key (it covers the images, size, fit and channels).
        cache_dir: the cache root; default default_cache_dir(). Files go to <root>/label_classifier/.
    """
    from ..data.cache import default_cache_dir
    from ..errors import CheckpointError
    from ..io.checkpoint import load, save_atomic

    labels = np.asarray(labels, dtype=np.int64)
    digest = hashlib.sha256()
    for part in (dataset_key, json.dumps(label_names), str(images.shape), f"{epochs}-{seed}-{CLASSIFIER_VERSION}"):
        digest.update(part.encode())
    digest.update(labels.tobytes())
    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    path = root / "label_classifier" / f"{digest.hexdigest()[:16]}.safetensors"
    if path.is_file():
        try:
            tensors, meta = load(path)
            model = LabelClassifier(len(label_names), images.shape[1], images.shape[-1])
            model.load_state_dict(tensors)
            log(f"  label classifier: cached {path} (held-out accuracy {meta['accuracy']:.1%})")
            return TrainedClassifier(
                model.eval(),
                label_names,
                meta["accuracy"],
                meta["per_label_accuracy"],
                n_train=meta["n_train"],
                n_held_out=meta["n_held_out"],
                majority_share=meta["majority_share"],
                epochs=epochs,
                cached=True,
            )
        except (CheckpointError, KeyError, RuntimeError) as e:  # damaged or stale: train again
            log(f"  label classifier: retraining ({path} unusable: {e})")
    log(f"  label classifier: training a small CNN on {len(images)} real images ({len(label_names)} labels)")
    trained = train_label_classifier(images, labels, label_names, epochs=epochs, seed=seed, log=log)
    meta = {
        "accuracy": trained.accuracy,
        "per_label_accuracy": trained.per_label_accuracy,
        "n_train": trained.n_train,
        "n_held_out": trained.n_held_out,
        "majority_share": trained.majority_share,
    }
    save_atomic(path, trained.model.state_dict(), meta)
    log(f"  label classifier: held-out accuracy {trained.accuracy:.1%} ({trained.seconds:.0f} s), cached {path}")
    return trained


def label_agreement(predicted: np.ndarray, asked: np.ndarray, label_names: list[str]) -> dict:
    """Share of images whose predicted label is the one asked for, overall and per asked label.

    Args:
        predicted: int64 [N], the classifier's labels for the generated images.
        asked: int64 [N], the labels the images were generated for.

    Returns:
        {"overall": share, "n": N, "per_label": {name: {"n": images asked, "agreement": share}}}
        (labels never asked for are left out).
    """
    predicted, asked = np.asarray(predicted), np.asarray(asked)
    per_label = {}
    for i, name in enumerate(label_names):
        mask = asked == i
        if mask.any():
            per_label[name] = {"n": int(mask.sum()), "agreement": float((predicted[mask] == i).mean())}
    overall = float((predicted == asked).mean()) if len(asked) else float("nan")
    return {"overall": overall, "n": int(len(asked)), "per_label": per_label}


def agreement_report(classifier: TrainedClassifier, generated: np.ndarray, asked: np.ndarray) -> dict:
    """Label agreement of generated images next to the classifier's held-out accuracy on real ones."""
    result = label_agreement(classifier.model.predict(generated), asked, classifier.label_names)
    result["classifier"] = classifier.summary()
    acc = classifier.accuracy
    result["ratio_to_classifier_accuracy"] = result["overall"] / acc if acc and acc > 0 else float("nan")
    for name, row in result["per_label"].items():
        row["classifier_accuracy"] = classifier.per_label_accuracy.get(name)
    return result
