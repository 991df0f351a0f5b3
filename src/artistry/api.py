"""The public Python API: train(config) and load(run_dir)."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .build import build_model, compile_networks
from .config import Config, resolve
from .errors import CheckpointError, ConfigError, DistributedError
from .io.images import tensor_to_uint8
from .runs import find_checkpoint, new_run_dir, read_config, write_json_atomic
from .training.callbacks import Callback, Checkpointer, MetricsLog, ProgressBar, SampleGrids
from .training.callbacks.collapse_alarm import CollapseAlarm
from .training.callbacks.samples import grid_labels
from .training.checkpointing import load_weights, restore_state
from .training.state import TrainState, build_optimizers, make_ema
from .training.trainer import Trainer

RESUMABLE_OVERRIDES = ("steps", "epochs", "max_minutes")
LABEL_SEED = 1 << 40  # the label of seed s comes from generator seed LABEL_SEED + s (its latent from s)
MACHINE_OVERRIDES = ("device", "precision", "compile")  # where a resumed run computes, not what it is


def _prepare(cfg: Config):
    from .data import prepare_dataset

    d = cfg.data
    return prepare_dataset(
        d.path, size=d.size, fit=d.fit, channels=d.channels, cache_dir=d.cache_dir, min_images=d.min_images
    )


def _default_name(cfg: Config) -> str:
    folder = Path(cfg.data.path).resolve().name or "data"
    return f"{cfg.model.model}-{cfg.loss.loss}-{folder}"


def _fixed_real(images: np.ndarray, n: int, seed: int) -> torch.Tensor:
    """A fixed batch of real images (for reconstruction previews), [n, C, H, W] in [-1, 1]."""
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(images.shape[0], generator=g)[:n].sort().values.numpy()
    x = torch.from_numpy(np.ascontiguousarray(images[idx])).float()
    return x / 127.5 - 1.0


def train(
    config: Config | dict | None = None,
    *,
    resume: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    callbacks: Iterable[Callback] = (),
    progress: bool = True,
    stop=None,
) -> Path:
    """Train a model and return its run directory.

    Args:
        config: a Config (or its dict); ignored when resuming.
        resume: a run directory to continue from its newest readable checkpoint.
        overrides: on resume, new budget values (steps, epochs, max_minutes) and where to compute
            (device, precision, compile).
        callbacks: extra callbacks, run after the built-in ones.
        progress: show the progress line on stderr.
        stop: a threading.Event; setting it from any thread ends training after the current step
            with a checkpoint (what Ctrl-C does in the main thread).
    """
    if resume is not None:
        run_dir = Path(resume)
        cfg = read_config(run_dir)
        overrides = overrides or {}
        if any(k in RESUMABLE_OVERRIDES for k in overrides):  # a new budget replaces the old one
            for k in RESUMABLE_OVERRIDES:
                cfg.set(k, None)
        for k, v in overrides.items():
            if k not in RESUMABLE_OVERRIDES + MACHINE_OVERRIDES:
                raise ConfigError(
                    f"--{k.replace('_', '-')} cannot be changed when resuming "
                    f"(only --steps, --epochs, --max-minutes, --device, --precision, --compile)"
                )
            cfg.set(k, v)
        _device_available_or_auto(cfg, explicit="device" in overrides)
        cfg = resolve(cfg)
    else:
        if config is None:
            raise ConfigError("train() needs a config or resume=")
        cfg = resolve(Config.from_dict(config) if isinstance(config, dict) else config)

    from . import distributed
    from .runtime import resolve_runtime

    runtime = resolve_runtime(cfg)
    shard = distributed.init(runtime.device.type)  # one process: rank 0 of 1, nothing to join
    try:
        run_dir = _train(cfg, runtime, shard, resume, callbacks, progress, stop)
    except RuntimeError as e:  # a collective failed: another rank died, hung or lost its connection
        if not (shard.active and distributed.is_collective_error(e)):
            distributed.teardown()
            raise
        distributed.abandon()
        raise DistributedError(distributed.lost_peer_message(e)) from None
    except BaseException:
        distributed.teardown()
        raise
    distributed.teardown(together=True)
    return run_dir


def _train(cfg: Config, runtime, shard, resume, callbacks, progress, stop) -> Path:
    """train() once the config, runtime and process group are settled."""
    from . import distributed
    from .runtime import set_fast_math

    if shard.active:
        distributed.per_rank_batch(cfg.train.batch, cfg.loss.pack, shard)
        if cfg.train.ada_target:  # its probability follows each rank's own D outputs
            raise ConfigError("--ada-target is not supported with several processes yet; use --ada-target 0")
    set_fast_math(runtime)
    torch.manual_seed(cfg.train.seed)
    if not shard.is_main:
        distributed.barrier()  # rank 0 prepares the dataset cache first; the others then reuse it
    dataset = _prepare(cfg)
    if shard.is_main:
        distributed.barrier()
    labels = _resolve_labels(cfg, dataset, resumed=resume is not None)  # None when unconditional

    if resume is None:  # rank 0 alone writes files; the others learn the run directory from it
        if shard.is_main:
            run_dir = new_run_dir(Path(cfg.train.runs_dir), cfg.train.name or _default_name(cfg))
            write_json_atomic(run_dir / "config.json", cfg.to_dict())
            write_json_atomic(run_dir / "manifest.json", dataset.manifest)
        run_dir = Path(distributed.broadcast_text(str(run_dir) if shard.is_main else None))
    else:
        run_dir = Path(resume)

    from .data.loader import BatchLoader

    model, loss = build_model(cfg, runtime)
    device = runtime.device
    t = cfg.train
    if t.sync_bn and shard.active:  # before the EMA copy, so it has the same modules
        distributed.convert_sync_bn(model)
    if t.augment:
        from .data.augment import DiffAugment

        model.augment = DiffAugment(t.augment, p=0.0 if t.ada_target else 1.0)
    state = TrainState(
        model=model,
        optimizers=build_optimizers(cfg, model),
        ema=make_ema(model) if t.ema else None,
        fixed_z=model.sample_latents(t.n_samples, "cpu", torch.Generator().manual_seed(t.seed + 1)).to(device),
        fixed_real=_fixed_real(dataset.images, t.n_samples, t.seed + 2).to(device),
        fixed_y=None if labels is None else grid_labels(labels.counts, t.n_samples).to(device),
        label_freq=None if labels is None else torch.from_numpy(labels.frequencies()),
        world=shard.world,
        grad_sync=distributed.GradSync() if shard.active else None,
    )
    if runtime.compile:  # after the EMA copy: a copy of a compiled module calls the original
        compile_networks(model)
    loader = BatchLoader(
        dataset.images,
        t.batch,
        seed=t.seed,
        mirror=cfg.data.mirror,
        device=device,
        channels_last=runtime.channels_last,
        shard=(shard.rank, shard.world),
        labels=None if labels is None else labels.labels,
        balanced=cfg.data.balanced,
    )
    if resume is not None:
        meta = _restore_newest(run_dir, state)
        if meta is not None:
            loader.load_state_dict(meta["loader"])
    distributed.broadcast_module(model)  # the same start on every rank, whatever each one read
    distributed.broadcast_module(state.ema)

    from .training.callbacks.base import budget_every

    grids = budget_every(cfg, t.sample_every, GRID_SHARE, len(dataset.images))
    from .training.callbacks.adaptive_augment import AdaptiveAugment
    from .training.callbacks.evaluate import evaluate_callback
    from .training.callbacks.nonfinite_guard import NonFiniteGuard

    cbs: list[Callback | None] = [
        AdaptiveAugment(model.augment, t.ada_target, t.ada_kimg) if t.ada_target else None,  # extends the logs
        ProgressBar() if progress else None,
        MetricsLog(),
        NonFiniteGuard(),  # before anything saves: a broken state rolls back first
        SampleGrids(grids),
        CollapseAlarm(grids),
        evaluate_callback(cfg, dataset),  # before the checkpointer: the final state is evaluated, then saved
        Checkpointer(budget_every(cfg, t.checkpoint_every, CHECKPOINT_SHARE, len(dataset.images)), t.keep),
    ]
    cbs = [c for c in cbs if c is not None]
    cbs += list(callbacks)
    if shard.active:  # rank 0 writes everything; every rank runs the guard, on the same steps
        guard = NonFiniteGuard(min_seconds=0.0, stream=None if shard.is_main else io.StringIO())
        cbs = [guard if isinstance(c, NonFiniteGuard) else c for c in cbs] if shard.is_main else [guard]
    if progress and shard.is_main:
        print(
            f"training on {runtime.describe()}"
            + (" (dataset in device memory)" if loader.resident else "")
            + (f", {shard.world} processes" if shard.active else ""),
            file=sys.stderr,
        )
        if labels is not None:
            shown = ", ".join(f"{n} ({c})" for n, c in zip(labels.names, labels.counts))
            print(
                f"conditional on {len(labels.names)} labels{' (balanced)' if cfg.data.balanced else ''}: {shown}",
                file=sys.stderr,
            )
    trainer = Trainer(
        cfg,
        run_dir,
        state,
        loss,
        loader,
        cbs,
        runtime,
        stop=stop,
        control=distributed.Control() if shard.active else None,
    )
    trainer.fit()
    return run_dir


def _resolve_labels(cfg: Config, dataset, resumed: bool):
    """A conditional run's labels (data/labels.py), recorded in the config (label_names,
    num_classes) before it is written; a resumed run must find the labels it was trained on."""
    if not cfg.data.conditional:
        return None
    from .config import validate

    labels = _dataset_labels(cfg, dataset, check_names=resumed)
    if not resumed:
        cfg.data.label_names = list(labels.names)
        cfg.model.num_classes = len(labels.names)
        validate(cfg)
    return labels


def _dataset_labels(cfg: Config, dataset, check_names: bool):
    """The dataset's labels as the config resolves them; with check_names, they must be the
    labels the run recorded (a run's class indices mean those names)."""
    from .data.labels import resolve_labels

    d = cfg.data
    labels = resolve_labels(
        dataset.files,
        [dataset.label_names[i] for i in dataset.labels],
        csv_path=d.labels,
        column=d.label_column,
        min_images=d.min_label_images,
        skipped=tuple(s["file"] for s in dataset.manifest.get("skipped", [])),
    )
    if check_names and labels.names != d.label_names:
        raise ConfigError(
            f"the run was trained on labels {', '.join(d.label_names)}, but its data ({d.path}) now has "
            f"{', '.join(labels.names)}; use the data it was trained on"
        )
    return labels


GRID_SHARE = 1 / 40  # about 40 sample grids (and collapse checks) per run, whatever the budget
CHECKPOINT_SHARE = 1 / 5  # and 5 checkpoints, besides the one at the end


def _device_available_or_auto(cfg: Config, explicit: bool) -> None:
    """A resumed run whose recorded device this machine lacks (a GPU run on a laptop) continues on
    whatever this machine has, with a note; a device asked for on the command line must exist."""
    from .build import pick_device

    try:
        pick_device(cfg.train.device)
    except ConfigError:
        if explicit:
            raise
        print(
            f"note: this run trained on '{cfg.train.device}', which this machine does not have; "
            "continuing with --device auto",
            file=sys.stderr,
        )
        cfg.train.device = "auto"


def _restore_newest(run_dir: Path, state: TrainState) -> dict | None:
    """Restore from the newest checkpoint that loads, warning about any that do not.

    None when the run stopped before its first checkpoint: it then starts again from step 0,
    which the fixed seed makes the same run.
    """
    from .io.checkpoint import list_checkpoints

    found = list_checkpoints(run_dir / "checkpoints")
    if not found:
        print(f"note: {run_dir} stopped before its first checkpoint; training it from the start", file=sys.stderr)
        return None
    for step, path in reversed(found):
        try:
            return restore_state(path, state)
        except CheckpointError as e:
            print(f"warning: skipping unreadable checkpoint: {e}", file=sys.stderr)
    raise CheckpointError(f"no readable checkpoint in {run_dir / 'checkpoints'}")


class LoadedRun:
    """A trained run ready to make images. Build with `artistry.load(run_dir)`."""

    def __init__(self, run_dir: str | Path, checkpoint: str | int = "auto", device: str = "cpu"):
        self.run_dir = Path(run_dir)
        self.config = read_config(self.run_dir)
        from .runtime import resolve_runtime

        self.runtime = resolve_runtime(self.config, device=device)
        self.device = self.runtime.device
        self.checkpoint_path = find_checkpoint(self.run_dir, checkpoint)
        from .io import checkpoint as ckpt

        tensors, meta = ckpt.load(self.checkpoint_path)
        self.model, _ = build_model(self.config, self.runtime)
        self.ema = make_ema(self.model) if meta.get("has_ema") else None
        load_weights(self.model, self.ema, tensors, self.checkpoint_path)
        self.model.eval()
        self.step = int(meta["step"])
        self.images_seen = int(meta["images_seen"])
        self.G = self.ema if self.ema is not None else self.model.G
        self.label_names: list[str] = list(self.config.data.label_names)  # [] when unconditional
        self.num_classes = self.config.model.num_classes
        freq = meta.get("label_frequencies") or [1.0] * self.num_classes
        self.label_frequencies = torch.tensor(freq, dtype=torch.float64)  # [K]: each label's share of the data

    @property
    def can_sample(self) -> bool:
        return self.model.can_sample

    def _need_sampler(self) -> None:
        if not self.model.can_sample:
            raise ConfigError(
                f"{self.run_dir} is a '{self.config.model.model}' run, which does not "
                "generate from noise; use it with `artistry postprocess --denoise`"
            )

    def latents(self, seeds: Iterable[int]) -> torch.Tensor:
        """One latent per seed, [len(seeds), nz]; seed s always gives the same latent."""
        self._need_sampler()
        zs = [self.model.sample_latents(1, "cpu", torch.Generator().manual_seed(int(s))) for s in seeds]
        return torch.cat(zs).to(self.device)

    @torch.no_grad()
    def images_from_latents(
        self, z: torch.Tensor, batch_size: int = 64, labels: torch.Tensor | None = None
    ) -> np.ndarray:
        """Decode latents [N, nz] to uint8 images [N, C, H, W].

        Args:
            labels: for a conditional run, int64 class indices [N] or float class weights [N, K]
                (blends; see `label_weights`); None gives every image the most frequent training
                label, so a latent walk keeps one label. An unconditional run refuses labels.
        """
        self._need_sampler()
        y = self._labels_for(z.shape[0], labels, default_seeds=None)
        out = []
        for i in range(0, z.shape[0], batch_size):
            zi = z[i : i + batch_size].to(self.device)
            images = self.G(zi) if y is None else self.G(zi, y[i : i + batch_size].to(self.device))
            out.append(tensor_to_uint8(images.float()))
        return np.concatenate(out)

    def generate(self, n: int, seed: int = 0, batch_size: int = 64, labels: torch.Tensor | None = None) -> np.ndarray:
        """n images from seeds seed, seed+1, ..., as uint8 [n, C, H, W].

        A conditional run with labels None draws each image's label from its seed, in proportion
        to the training data's labels, so seed s always gives the same image.
        """
        seeds = range(seed, seed + n)
        y = self._labels_for(n, labels, default_seeds=seeds)
        return self.images_from_latents(self.latents(seeds), batch_size, y)

    def label_weights(self, spec: str, n: int) -> torch.Tensor:
        """A label spec ("Impressionism" or a blend "0.5*Impressionism+0.5*Ukiyo-e") -> float
        class weights [n, K] for `generate(..., labels=)`; an unknown label lists the known ones."""
        from .label_spec import label_weights

        if not self.num_classes:
            raise ConfigError(f"--label: {self.run_dir} was trained without --conditional, so it has no labels")
        return label_weights(spec, self.label_names, n)

    def _labels_for(self, n: int, labels: torch.Tensor | None, default_seeds) -> torch.Tensor | None:
        """Checked labels for n images: int64 [n] or float [n, K]; None for an unconditional run."""
        if not self.num_classes:
            if labels is not None:
                raise ConfigError(f"--label: {self.run_dir} was trained without --conditional, so it has no labels")
            return None
        if labels is None and default_seeds is None:  # one label for all: the most frequent
            return torch.full((n,), int(self.label_frequencies.argmax()), dtype=torch.long)
        if labels is None:  # each seed's own label, drawn like the training data's
            draws = [
                torch.multinomial(self.label_frequencies, 1, generator=torch.Generator().manual_seed(LABEL_SEED + s))
                for s in default_seeds
            ]
            return torch.cat(draws)
        labels = torch.as_tensor(labels)
        k = self.num_classes
        if labels.is_floating_point():
            if labels.shape != (n, k):
                raise ConfigError(f"labels: class weights must be [{n}, {k}], got {list(labels.shape)}")
            return labels.float()
        if labels.shape != (n,) or (labels.numel() and not (0 <= int(labels.min()) and int(labels.max()) < k)):
            raise ConfigError(f"labels: class indices must be [{n}] in 0..{k - 1}, got {list(labels.shape)}")
        return labels.long()

    def training_labels(self) -> np.ndarray:
        """Each training image's label index (into `label_names`), int64 [N], in the order of
        `training_images()`, resolved exactly as training resolved them (CSV, rare labels merged)."""
        if not self.num_classes:
            raise ConfigError(f"{self.run_dir} was trained without --conditional, so it has no labels")
        return _dataset_labels(self.config, _prepare(self.config), check_names=True).labels

    def _pixels_to_tensor(self, images: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(np.asarray(images, dtype=np.float32))  # a fresh, writable copy
        return (x / 127.5 - 1.0).to(self.device)  # [N, C, H, W] in [-1, 1]

    @torch.no_grad()
    def encode(self, images: np.ndarray, batch_size: int = 64, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Posterior means of a VAE run for uint8 images [N, C, H, W] at the run's size -> [N, nz].

        Prepare files like the dataset with `data.load_image(path, size, fit, channels)`. A
        conditional VAE encodes q(z | image, label): `labels` (int64 [N] or weights [N, K]) is then
        required, since a guessed label would give a wrong latent.
        """
        if not hasattr(self.model, "encode"):
            raise ConfigError(
                f"{self.run_dir} is a '{self.config.model.model}' run, which has no "
                "encoder; only vae runs can encode images"
            )
        images = np.asarray(images)
        want = tuple(self.model.image_shape)
        if images.ndim != 4 or tuple(images.shape[1:]) != want:
            raise ConfigError(
                f"images must be [N, {want[0]}, {want[1]}, {want[2]}] for {self.run_dir}, got {list(images.shape)}"
            )
        if self.num_classes and labels is None:
            raise ConfigError(f"{self.run_dir} is class-conditional: encoding images needs their labels")
        y = self._labels_for(len(images), labels, default_seeds=None)
        out = [
            self.model.encode(
                self._pixels_to_tensor(images[i : i + batch_size]),
                None if y is None else y[i : i + batch_size].to(self.device),
            )[0]
            for i in range(0, len(images), batch_size)
        ]
        return torch.cat(out).float()

    @torch.no_grad()
    def denoise(self, images: np.ndarray, batch_size: int = 16) -> np.ndarray:
        """Clean uint8 images [N, C, H, W] (or one [C, H, W]) with a dae run, any size.

        A greyscale denoiser cleans each channel of RGB images on its own; a colour one sees
        greyscale images as grey RGB and returns their mean.
        """
        if not getattr(self.model, "can_denoise", False):
            raise ConfigError(
                f"--denoise: {self.run_dir} is a '{self.config.model.model}' run; give a run trained with --model dae"
            )
        images = np.asarray(images)
        single = images.ndim == 3
        batch = images[None] if single else images  # [N, C, H, W]
        n, c, h, w = batch.shape
        want = self.model.image_shape[0]
        if c == want:
            x = batch
        elif want == 1:  # each colour channel as its own greyscale image
            x = batch.reshape(n * c, 1, h, w)
        else:  # greyscale through a colour denoiser
            x = np.repeat(batch, want, axis=1)
        out = np.concatenate(
            [
                tensor_to_uint8(self.G(self._pixels_to_tensor(x[i : i + batch_size])).float())
                for i in range(0, len(x), batch_size)
            ]
        )
        if c != want:
            out = (
                out.reshape(n, c, h, w)
                if want == 1
                else np.rint(out.astype(np.float32).mean(axis=1, keepdims=True)).astype(np.uint8)
            )
        return out[0] if single else out

    def training_images(self) -> np.ndarray:
        """The prepared training set this run was trained on, uint8 [N, C, H, W]."""
        return _prepare(self.config).images

    def __repr__(self) -> str:
        return f"LoadedRun({self.run_dir}, step={self.step}, model={self.config.model.model})"


def load(run_dir: str | Path, checkpoint: str | int = "auto", device: str = "cpu") -> LoadedRun:
    """Open a run directory for generation.

    Args:
        run_dir: a folder made by `artistry train`.
        checkpoint: "auto" (the best checkpoint by the in-training metric if the run kept one,
            else the last), "last", "best" or a step number.
        device: "cpu", "cuda" or "auto".
    """
    return LoadedRun(run_dir, checkpoint, device)
