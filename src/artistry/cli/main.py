"""Entry point: builds the subcommand parsers and turns user errors into one clear line."""

from __future__ import annotations

import argparse
import errno
import importlib
import sys

from ..errors import ArtistryError

# Order is the order shown in `artistry --help`.
COMMANDS = ("prepare", "train", "generate", "interpolate", "postprocess", "evaluate", "fid", "kid", "bench", "studio")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="artistry",
        description="Train generative models on your own artworks and make new art with them.",
        epilog="Run `artistry COMMAND --help` for a command's flags and examples.",
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            mod = importlib.import_module(f"{__package__}.commands.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"{__package__}.commands.{name}":
                continue  # command not built yet in this version
            raise
        p = sub.add_parser(
            mod.NAME,
            help=mod.HELP,
            description=getattr(mod, "DESCRIPTION", mod.HELP),
            epilog=getattr(mod, "EPILOG", None),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def _version() -> str:
    from .. import __version__

    return f"artistry {__version__}"


def app(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 user error, 2 bad flags, 130 interrupted)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args._argv = list(sys.argv[1:] if argv is None else argv)  # `train --gpus N` passes it on to torchrun
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except ArtistryError as e:
        print(f"artistry {args.command}: error: {e}", file=sys.stderr)
        return 1
    except OSError as e:  # a full disk outside training's own handling (e.g. writing config.json)
        if e.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        print(
            f"artistry {args.command}: error: no space left to write {e.filename or 'a file'}; "
            "free some space and run the command again",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        print(f"artistry {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(app())
