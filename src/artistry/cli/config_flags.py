"""Turns the Config dataclasses into argparse flags, one flag per field, and back."""

from __future__ import annotations

import argparse
import dataclasses

from ..config import Config, field_type
from ..recipes import DEFAULT_RECIPE, recipe_settings

HELP = {
    "size": "training resolution in pixels (32, 64, 128, 256, 512, 1024; mlp up to 256)",
    "fit": "how non-square images become square: crop (centre), pad (white), stretch",
    "channels": "3 for colour, 1 for greyscale",
    "mirror": "also show D horizontally flipped images (doubles a small dataset)",
    "cache_dir": "where prepared datasets are cached (default $ARTISTRY_CACHE or ~/.cache/artistry)",
    "min_images": "refuse datasets with fewer usable images than this",
    "conditional": "class-conditional training: G draws the label you ask for, D judges image and label "
    "(labels = top-level subfolders, or --labels FILE.csv)",
    "labels": "a CSV with a header and a `file` column (paths relative to the dataset folder) giving each "
    "image's label in --label-column; implies --conditional",
    "label_column": "the --labels CSV column that holds the labels",
    "min_label_images": "labels with fewer images are merged into 'other' (a projection critic's per-label "
    "embedding memorises a label with fewer images; 20 keeps every paintings_a style with 20+ images)",
    "balanced": "class-balanced sampling: every label is drawn equally often (with --conditional)",
    "model": "model family: dcgan, mlp, fastgan (few-shot, 128-1024 px), vae, dae",
    "nz": "latent size (GAN noise / VAE latent); --latent is the same flag",
    "ngf": "generator / decoder base width",
    "ndf": "discriminator / encoder base width",
    "mbstd": "minibatch standard deviation layer in the discriminator (fights collapse)",
    "mbdisc": "minibatch discrimination in the discriminator with this many kernels, e.g. 100 (0 = off; "
    "lets D see a batch that over-produces one kind of image)",
    "upsample": "dcgan generator up-sampling: transpose (the paper's ConvTranspose) or resize (nearest "
    "neighbour + 3x3 conv, no checkerboard artefacts)",
    "d_norm": "critic normalisation: batch, layer, none (default: what the loss allows)",
    "d_widths": "fastgan discriminator widths: paper (the authors' table: half the generator's at 64 px and "
    "above) or generator (the generator's table, as fastgan runs before 2026-12-05 were built)",
    "loss": "bce, wgan, wgan-gp, hinge (GANs); elbo (vae); denoise (dae)",
    "label_smoothing": "one-sided label smoothing for bce: real target 1 - s",
    "clip": "WGAN weight-clipping bound (default 0.01)",
    "gp": "WGAN-GP gradient penalty weight (default 10)",
    "r1": "R1 gradient penalty weight on real images (0 = off)",
    "fm": "feature matching: G also matches the critic's mean features on real images, with this weight "
    "(0 = off; pushes a batch that over-draws one kind of image back toward the data's mix)",
    "class_loss": "with --conditional: D also learns to tell the label of real images, and G is pushed to "
    "make images D reads as the label asked for (AC-GAN's auxiliary classifier), with this weight (0 = off)",
    "n_critic": "critic steps per generator step (default: the loss's paper)",
    "pack": "PacGAN: the discriminator judges PACK samples at once",
    "beta": "VAE: weight of the KL term",
    "kl_warmup": "VAE: images over which the KL weight ramps up from 0",
    "noise": "DAE corruptions, e.g. gaussian:0.2,saltpepper:0.05,blur,mask",
    "optimizer": "adam or rmsprop (default: the loss's paper)",
    "lr_g": "generator learning rate (default: the loss's paper)",
    "lr_d": "discriminator learning rate (default: the loss's paper)",
    "beta1": "Adam beta1",
    "beta2": "Adam beta2",
    "batch": "images per batch",
    "steps": "stop after this many generator steps",
    "epochs": "stop after this many passes over the data",
    "max_minutes": "stop after this much training time (default 30 when no budget is given)",
    "seed": "random seed (weights, data order, fixed sample noise)",
    "precision": "auto (bf16 where the CPU/GPU has native bf16, else fp32), bf16 or fp32",
    "device": "auto, cpu, cuda or cuda:N (may be changed on --resume)",
    "compile": "torch.compile the generator and critic: faster steps on a GPU after a minute or two of "
    "compiling (see docs/gpu.md for when it pays)",
    "sync_bn": "with several processes (--gpus/--nproc, torchrun): batch norm statistics over the global "
    "batch, not each process's share (BigGAN's cross-replica batch norm; for small per-GPU batches)",
    "ema": "keep an exponential moving average of G for samples and generation",
    "ema_kimg": "EMA half-life in thousands of images",
    "augment": "DiffAugment policy for D, e.g. color,translation,cutout",
    "ada_target": "adapt the augmentation probability so E[sign D(real)] stays near this (ADA; 0 = always augment)",
    "ada_kimg": "thousands of images for the adaptive probability to go from 0 to 1",
    "lr_tail": "final share of the budget over which learning rates decay linearly to 0",
    "eval_at": "evaluate at these shares of the budget, e.g. 0.5,0.75, and at the end if one ran (one that "
    "would cost over 15%% of the training so far is skipped)",
    "eval_metric": "fid or kid: which metric picks the best checkpoint",
    "recipe": "classic (DCGAN paper), fast, best, hires (fastgan): model, loss and options chosen together "
    "[best; hires for --model fastgan]",
    "sample_every": "images between sample grids (default: 40 grids per run, spaced by training time "
    "under --max-minutes)",
    "checkpoint_every": "images between checkpoints (default: 5 per run, spaced by training time under --max-minutes)",
    "keep": "how many step checkpoints to keep",
    "n_samples": "images in each sample grid (one fixed noise batch)",
    "eval_every": "images between FID/KID evaluations during training (off by default)",
    "eval_n": "generated images per in-training evaluation",
    "name": "run name (default MODEL-LOSS-FOLDER)",
    "runs_dir": "folder that holds the run directories",
}
SKIP = {"path", "label_names", "num_classes"}  # the positional DIR; what the labels resolve to at train start
ALIASES = {"nz": ["--latent"]}


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per config field; defaults are suppressed so only given flags are set.

    The help shows each field's default in brackets; for a field the default recipe sets, the
    recipe's value, marked `[best: VALUE]`, since that is what a run without the flag gets.
    """
    cfg = Config()
    recipe = recipe_settings(DEFAULT_RECIPE)
    for section in ("data", "model", "loss", "optim", "train"):
        group = parser.add_argument_group(section)
        for f in dataclasses.fields(getattr(cfg, section)):
            if f.name in SKIP:
                continue
            flag = "--" + f.name.replace("_", "-")
            names = [flag] + ALIASES.get(f.name, [])
            kind = field_type(f.type)
            default = getattr(getattr(cfg, section), f.name)
            help_text = HELP.get(f.name, "") + default_note(f.name, default, recipe)
            if kind is bool:
                group.add_argument(
                    *names,
                    dest=f.name,
                    action=argparse.BooleanOptionalAction,
                    default=argparse.SUPPRESS,
                    help=help_text,
                )
            else:
                group.add_argument(
                    *names, dest=f.name, type=kind, default=argparse.SUPPRESS, metavar=f.name.upper(), help=help_text
                )
    parser.add_argument("--lr", type=float, default=argparse.SUPPRESS, help="set both --lr-g and --lr-d")


def default_note(name: str, plain, recipe: dict) -> str:
    """' [VALUE]' for a field's help: the recipe's value (' [best: VALUE]') where the recipe sets it."""
    if name in recipe:
        return f" [{DEFAULT_RECIPE}: {recipe[name]}]"
    return "" if plain in (None, "") else f" [{plain}]"


def given_flags(args: argparse.Namespace) -> dict:
    """The config fields the user set on the command line."""
    names = {
        f.name for s in ("data", "model", "loss", "optim", "train") for f in dataclasses.fields(getattr(Config(), s))
    }
    given = {k: v for k, v in vars(args).items() if k in names}
    if "lr" in vars(args):
        given.setdefault("lr_g", args.lr)
        given.setdefault("lr_d", args.lr)
    return given
