"""`artistry bench WHAT`: benchmark harnesses. Flags -> one library call in artistry.bench.

To add a benchmark: write `artistry/bench/<what>.py` with a `run_*` function, add its flags in
`add_arguments` (one argument group per benchmark) and one entry in `_RUNNERS`.
"""

from __future__ import annotations

import argparse
import shlex
import sys

NAME = "bench"
HELP = "benchmarks: training speed (speed), mode coverage (modes), recipe quality (quality)"
DESCRIPTION = (
    "Run a benchmark harness.\n\n"
    "  speed  training img/s of our DCGAN-64 against a tutorial-style fp32 DCGAN loop,\n"
    "         alternating in one process, and their ratio\n"
    "  modes  mode coverage of every loss/option on the 2-D ring and grid mixtures and on\n"
    "         Stacked MNIST, with PacGAN's definitions, next to the published numbers\n"
    "  quality recipes (classic vs best) trained for the same wall-clock budgets on one folder,\n"
    "         then FID/KID/precision/recall/coverage on the same real statistics"
)
EPILOG = """examples:
  artistry bench speed                                    # DCGAN-64, batch 64, --precision auto
  artistry bench speed --precision fp32 --rounds 3 --steps 3
  artistry bench speed --device cuda --steps 50 --recipe best             # on a GPU, the best recipe's step
  artistry bench speed --device cuda --steps 50 --batch 256 --compile
  artistry bench modes --suite 2d --trials 3 --steps 1000                  # quick look, ~minutes
  artistry bench modes --suite 2d --losses bce,hinge --options none,pack2,mbstd
  artistry bench modes --suite 2d --recipes bce+pack2+ema,hinge+ema --workers 2 --out benchmarks/results/modes.md
  artistry bench modes --suite 2d --recipes bce+pack2+ema+drs --steps 10000 --workers 2   # the goal recipe, ~18 min
  artistry bench modes --suite stacked --recipes bce,hinge+ema --stacked-steps 2000
  artistry bench quality --data ~/paintings --minutes 30,10 --out benchmarks/results/quality.md
  artistry bench quality --minutes 10 --n 500 --compare "best,best[mbstd=false],best[ada_target=0.6]"   # ablations

recipes are LOSS[+OPTION...]; options: packN, mbstd, mbdisc=K, ema, r1=GAMMA, fm=W, gp=LAMBDA, clip=C, ncritic=N,
lr=X, lrg=X, lrd=X, beta1=X, beta2=X, dnorm=batch|layer|none, up=transpose|resize, ls=S, emakimg=K, tail=S,
drs[=STEPS] (2-D: discriminator rejection sampling when scoring), batch=N, nz=N, gw=W, dw=W
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("what", choices=sorted(_RUNNERS), help="which benchmark to run")
    s = p.add_argument_group("speed")
    s.add_argument(
        "--precision",
        choices=["auto", "fp32", "bf16"],
        default="auto",
        help="precision of our loop; the reference is always fp32 [auto]",
    )
    s.add_argument("--rounds", type=int, default=5, help="alternating timed rounds [5]")
    s.add_argument("--batch", type=int, default=64, help="images per step [64]")
    s.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto; both loops run there [cpu]")
    from ...recipes import RECIPES

    s.add_argument(
        "--recipe",
        choices=sorted(RECIPES),
        default=None,
        help="time a recipe's networks and options instead of the tutorial's own architecture",
    )
    s.add_argument("--compile", action="store_true", help="torch.compile our networks (the reference stays eager)")
    m = p.add_argument_group("modes")
    m.add_argument(
        "--suite",
        choices=["2d", "stacked", "all"],
        default="2d",
        help="2d: ring + grid mixtures; stacked: Stacked MNIST; all: both [2d]",
    )
    m.add_argument("--losses", metavar="L1,L2", help="losses to run (bce, wgan, wgan-gp, hinge)")
    m.add_argument(
        "--options",
        metavar="O1,O2",
        help="option sets crossed with --losses, e.g. none,pack2,pack4,mbstd,ema,pack2+ema",
    )
    m.add_argument(
        "--recipes",
        metavar="R1,R2",
        help="explicit recipes, e.g. bce,bce+pack2,hinge+ema (default: bce, bce+pack2, "
        "bce+pack4, bce+mbstd, wgan, wgan-gp, hinge)",
    )
    m.add_argument(
        "--trials",
        type=int,
        default=None,
        help="2-D trials (seeds) per recipe and mixture [10]; Stacked MNIST has --stacked-trials",
    )
    m.add_argument(
        "--steps", type=int, default=None, help="2-D generator steps per trial [3000]; speed: timed steps per round [5]"
    )
    m.add_argument("--stacked-steps", type=int, default=None, help="Stacked MNIST generator steps [1500]")
    m.add_argument("--stacked-trials", type=int, default=1, help="Stacked MNIST trials per recipe [1]")
    m.add_argument(
        "--stacked-curve",
        type=int,
        default=0,
        metavar="N",
        help="also score Stacked MNIST generators (alone) every N steps, for a KL-vs-steps curve [off]",
    )
    m.add_argument(
        "--save-generators",
        metavar="DIR",
        help="save each Stacked MNIST generator (safetensors) here when its training ends",
    )
    m.add_argument("--workers", type=int, default=1, help="parallel processes for the trials [1]")
    m.add_argument(
        "--threads", type=int, default=1, help="torch threads per process; small networks run best with 1 per core [1]"
    )
    m.add_argument("--seed", type=int, default=0, help="first seed [0]")
    m.add_argument("--mnist", metavar="NPZ", help="mnist.npz (default: $ARTISTRY_MNIST or ../shared/data/mnist)")
    m.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="where the digit classifier is cached "
        "(default $ARTISTRY_CACHE/mnist_classifier or ~/.cache/artistry/mnist_classifier)",
    )
    m.add_argument(
        "--out",
        metavar="FILE.md",
        help="write the tables here (and raw numbers to FILE.json); "
        "results for other recipes/suites already in FILE.json are kept",
    )
    _DEFAULTS.update({a.dest: a.default for a in m._group_actions})
    q = p.add_argument_group("quality")
    q.add_argument(
        "--data", metavar="DIR", help="image folder (default: the development dataset ../shared/data/paintings_a)"
    )
    q.add_argument("--minutes", metavar="M1,M2", default="30,10", help="wall-clock budget per run [30,10]")
    q.add_argument(
        "--compare",
        metavar="R1,R2",
        default="classic,best",
        help="recipes, or variants for ablations such as best[mbstd=false,lr_tail=0]; "
        "the ratio is FID(last)/FID(first) [classic,best]",
    )
    q.add_argument("--n", type=int, default=2000, help="generated images per evaluation [2000]")
    q.add_argument("--size", type=int, default=64, help="training resolution (also speed's, with --recipe) [64]")
    q.add_argument("--runs-dir", default="runs/bench-quality", help="where the runs go [runs/bench-quality]")
    q.add_argument(
        "--grids",
        metavar="DIR",
        default="benchmarks/results",
        help="where the side-by-side grids go [benchmarks/results]",
    )


_DEFAULTS: dict = {}


def _run_modes(args: argparse.Namespace) -> int:
    from ...bench.mode_recipes import expand_recipes
    from ...bench.modes import run_modes
    from ...errors import ConfigError

    if args.suite == "stacked" and args.trials is not None:  # it would silently run one stacked trial
        raise ConfigError("--trials counts 2-D trials; for Stacked MNIST seeds use --stacked-trials N")
    trials = 10 if args.trials is None else args.trials
    for flag, v in (
        ("--trials", trials),
        ("--stacked-trials", args.stacked_trials),
        ("--workers", args.workers),
        ("--threads", args.threads),
        ("--steps", args.steps or 1),
        ("--stacked-steps", args.stacked_steps or 1),
    ):
        if v < 1:
            raise ConfigError(f"{flag}: must be at least 1, got {v}")
    if args.stacked_curve < 0:
        raise ConfigError(f"--stacked-curve: must be 0 (off) or a number of steps, got {args.stacked_curve}")
    recipes = expand_recipes(args.losses, args.options, args.recipes)
    import torch

    torch.set_num_threads(max(1, args.threads))
    command = _command_line(
        args,
        (
            "suite",
            "losses",
            "options",
            "recipes",
            "trials",
            "steps",
            "stacked_steps",
            "stacked_trials",
            "stacked_curve",
            "workers",
            "threads",
            "seed",
            "out",
        ),
    )
    run_modes(
        args.suite,
        recipes,
        trials=trials,
        steps=args.steps,
        stacked_steps=args.stacked_steps,
        stacked_trials=args.stacked_trials,
        workers=args.workers,
        seed=args.seed,
        out=args.out,
        mnist=args.mnist,
        cache_dir=args.cache_dir,
        command=command,
        curve_every=args.stacked_curve,
        save_generators=args.save_generators,
        log=lambda s: print(s, file=sys.stderr, flush=True),
    )
    return 0


def _command_line(args: argparse.Namespace, names: tuple[str, ...]) -> str:
    """The equivalent command line (for the report): the flags that differ from their defaults."""
    parts = ["artistry", "bench", args.what]
    for n in names:
        v = getattr(args, n, None)
        if v is not None and (n == "suite" or v != _DEFAULTS.get(n)):
            parts += ["--" + n.replace("_", "-"), shlex.quote(str(v))]
    return " ".join(parts)


def _run_speed(args: argparse.Namespace) -> int:
    from ...bench.speed import run_speed
    from ...errors import ConfigError

    for flag, v in (("--rounds", args.rounds), ("--batch", args.batch), ("--steps", args.steps or 1)):
        if v < 1:
            raise ConfigError(f"{flag}: must be at least 1, got {v}")
    if args.device != "cpu":
        from ...build import pick_device

        pick_device(args.device)  # a clear error naming --device when there is no GPU
    run_speed(
        args.precision,
        args.batch,
        args.steps or 5,
        args.rounds,
        device=args.device,
        recipe=args.recipe,
        compile=args.compile,
        warmup=10 if args.device != "cpu" else 2,
        size=args.size if args.recipe else 64,
    )  # the tutorial's networks are 64 px only
    return 0


def _run_quality(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ...bench.quality import run_quality
    from ...config import resolve
    from ...errors import ConfigError
    from ...recipes import config_from, parse_variant, split_variants

    try:
        budgets = [float(x) for x in args.minutes.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"--minutes: expected minutes like 30,10, got '{args.minutes}'") from None
    if not budgets or min(budgets) <= 0:
        raise ConfigError("--minutes: give one or more positive budgets, e.g. 30,10")
    recipes = split_variants(args.compare)
    if not recipes:
        raise ConfigError("--compare: give one or more recipes, e.g. classic,best")
    if args.n < 10:
        raise ConfigError(f"--n: must be at least 10, got {args.n}")
    data = args.data or str(Path(__file__).resolve().parents[5] / "shared" / "data" / "paintings_a")
    if not Path(data).is_dir():
        raise ConfigError(
            f"--data: folder not found: {data} (the default is the development dataset "
            "paintings_a beside the checkout; ARCHITECTURE.md says how to get it)"
        )
    for r in recipes:  # every run's config is checked before any data is read
        try:
            base, changes = parse_variant(r)
        except ConfigError as e:
            raise ConfigError(str(e).replace("--recipe", "--compare", 1)) from None
        resolve(config_from(data, {"size": args.size, "max_minutes": min(budgets), **changes}, base))
    command = (
        f"artistry bench quality --data {shlex.quote(data)} --minutes {args.minutes} "
        f"--compare {shlex.quote(args.compare)} --n {args.n} --size {args.size}"
    )
    run_quality(
        data,
        budgets,
        recipes,
        n=args.n,
        size=args.size,
        runs_dir=args.runs_dir,
        out=args.out,
        grid_dir=args.grids,
        seed=args.seed,
        command=command,
        log=lambda s: print(s, file=sys.stderr, flush=True),
    )
    return 0


# what -> runner
_RUNNERS = {
    "modes": _run_modes,
    "quality": _run_quality,
    "speed": _run_speed,
}


def run(args: argparse.Namespace) -> int:
    return _RUNNERS[args.what](args)
