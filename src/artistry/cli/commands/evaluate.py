"""`artistry evaluate RUN`: the full metric report for one checkpoint, written to RUN/eval/."""

from __future__ import annotations

import argparse
import sys

NAME = "evaluate"
HELP = "FID, KID, precision/recall, density/coverage and memorisation for a trained run"
EPILOG = """examples:
  artistry evaluate runs/00000-demo                        # 2000 images vs the training set
  artistry evaluate runs/00000-demo --checkpoint best --n 1000
  artistry evaluate runs/00000-demo --data held_out/       # compare with images it never saw
  artistry evaluate runs/00000-demo --protocol clean
  artistry evaluate runs/00001-styles --per-label           # a --conditional run: per label + agreement

Writes RUN/eval/<step>.json, RUN/eval/<step>.md and RUN/eval/<step>-nearest.png (the generated
images closest to a training image, beside it). The real side's Inception features are cached
per dataset, protocol and resolution, so a second evaluation only pays for the generated images
(about 6 images/s on a 2-core CPU). Compare only reports with the same --n and --protocol.

--per-label (runs trained with --conditional) asks for every label in its share of the training
set, so the overall numbers stay comparable with an unconditional run's, and scores each label's
images against that label's real images. Label agreement is the share of images a label
classifier (trained on the real images; about a minute on a CPU the first time, then cached)
assigns to the label they were asked for, shown beside its accuracy on real held-out images.
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
    p.add_argument(
        "--per-label",
        action="store_true",
        help="conditional runs: images asked for labels in the training set's proportions; adds FID/KID/"
        "precision/recall per label (labels with >= 50 real images) and label agreement (a small CNN "
        "trained once on the real images, cached, checks each image shows the label it was asked for)",
    )


def run(args: argparse.Namespace) -> int:
    from ... import api
    from ...metrics.evaluate_run import evaluate_run, summary_line
    from ...metrics.features import check_protocol
    from ...metrics.per_label import per_label_markdown

    check_protocol(args.protocol)  # before loading the run: bad flags fail fast
    loaded = api.load(args.run, checkpoint=args.checkpoint, device=args.device)
    report, json_path, md_path = evaluate_run(
        loaded,
        data=args.data,
        n=args.n,
        protocol=args.protocol,
        seed=args.seed,
        batch=args.batch,
        per_label=args.per_label,
    )
    print(summary_line(report))
    if args.per_label:
        print("\n".join(["", *per_label_markdown(report["per_label"], report["label_agreement"])]))
    print(f"wrote {json_path} and {md_path}", file=sys.stderr)
    return 0
