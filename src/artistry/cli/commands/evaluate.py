"""`artistry evaluate RUN`: the full metric report for one checkpoint, written to RUN/eval/."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

MIN_REAL_IMAGES = 10  # precision/recall and density/coverage need more than k = 5 neighbours

NAME = "evaluate"
HELP = "FID, KID, precision/recall, density/coverage and memorisation for a trained run"
EPILOG = """examples:
  artistry evaluate runs/00000-demo                        # 2000 images vs the training set
  artistry evaluate runs/00000-demo --checkpoint best --n 1000
  artistry evaluate runs/00000-demo --data held_out/       # compare with images it never saw
  artistry evaluate runs/00000-demo --protocol clean

Writes RUN/eval/<step>.json, RUN/eval/<step>.md and RUN/eval/<step>-nearest.png (the generated
images closest to a training image, beside it). The real side's Inception features are cached
per dataset, protocol and resolution, so a second evaluation only pays for the generated images
(about 6 images/s on a 2-core CPU). Compare only reports with the same --n and --protocol.
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", metavar="RUN", help="run directory made by `artistry train`")
    p.add_argument(
        "--data",
        metavar="DIR",
        help="real images to compare with (prepared at the run's size); default the training set. "
        "Images the model never saw also calibrate the memorisation check",
    )
    p.add_argument("--n", type=int, default=2000, help="generated images [2000]")
    p.add_argument(
        "--checkpoint",
        default="auto",
        help="auto (best if the run kept one, else last), last, best or a step number [auto]",
    )
    p.add_argument("--protocol", default="legacy", help="legacy (standard TF-FID) or clean (PIL bicubic) [legacy]")
    p.add_argument("--seed", type=int, default=0, help="first seed of the generated images [0]")
    p.add_argument("--batch", type=int, default=8, help="images per Inception forward pass [8]")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto [cpu]")


def run(args: argparse.Namespace) -> int:
    from ... import api
    from ...data import prepare_dataset
    from ...errors import ConfigError
    from ...metrics.features import InceptionFeatures, check_protocol
    from ...metrics.report import ImageSet, cached_real_features, compute_report, write_report
    from ...metrics.stats_cache import RealFeatureCache

    check_protocol(args.protocol)
    if args.n < 10:
        raise ConfigError("--n must be at least 10")
    if args.batch < 1:
        raise ConfigError("--batch must be at least 1")
    loaded = api.load(args.run, checkpoint=args.checkpoint, device=args.device)
    d = loaded.config.data

    def prepare(folder, min_images):  # at the run's size, so real and generated images match
        return prepare_dataset(
            folder, size=d.size, fit=d.fit, channels=d.channels, cache_dir=d.cache_dir, min_images=min_images
        )

    train = prepare(d.path, d.min_images)
    real = prepare(args.data, MIN_REAL_IMAGES) if args.data else train
    held_out = real if real.key != train.key else None  # images the model never saw
    extractor = InceptionFeatures(device=loaded.device, batch_size=args.batch)
    cache = RealFeatureCache(None if d.cache_dir is None else Path(d.cache_dir).expanduser() / "eval")

    print(f"generating {args.n} images from {loaded.run_dir.name} at step {loaded.step}", file=sys.stderr)
    generated = loaded.generate(args.n, seed=args.seed)  # [N, C, H, W] uint8
    real_set, hit = cached_real_features(
        ImageSet(real.images, source=real.manifest["source"]), args.protocol, extractor, cache, real.key
    )
    print(f"real features of {len(real.images)} images: {'cached' if hit else 'computed and cached'}", file=sys.stderr)
    train_set = (
        real_set
        if held_out is None
        else cached_real_features(ImageSet(train.images), args.protocol, extractor, cache, train.key)[0]
    )

    name = f"{loaded.step:09d}"
    eval_dir = loaded.run_dir / "eval"
    report = compute_report(
        generated,
        real_set,
        train=train_set,
        held_out=real_set if held_out else None,
        protocol=args.protocol,
        extractor=extractor,
        seed=args.seed,
        sheet_path=eval_dir / f"{name}-nearest.png",
    )
    report.update(step=loaded.step, images_seen=loaded.images_seen, checkpoint=loaded.checkpoint_path.name)
    json_path, md_path = write_report(report, eval_dir, name)
    print(
        f"FID {report['fid']:.3f}  KID {report['kid']['mean']:.5f} ± {report['kid']['std']:.5f}  "
        f"precision {report['precision']:.3f}  recall {report['recall']:.3f}  "
        f"density {report['density']:.3f}  coverage {report['coverage']:.3f}  "
        f"memorised {report['memorization']['share_flagged']:.1%}  "
        f"({args.n} vs {len(real.images)} images, protocol {args.protocol})"
    )
    print(f"wrote {json_path} and {md_path}", file=sys.stderr)
    return 0
