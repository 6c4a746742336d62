"""The ``landmark-nas`` command: compare, train, score, search, arch."""

from __future__ import annotations

import argparse
import logging
import sys

from landmark_nas import __version__
from landmark_nas.cli import commands
from landmark_nas.cli.options import (
    INPUT_OPTIONS,
    SEARCH_OPTIONS,
    SUPERNET_OPTIONS,
    TRAIN_OPTIONS,
    add_bool_options,
    add_config_options,
)
from landmark_nas.errors import LandmarkNASError

DESCRIPTION = """\
Weight-sharing NAS on NAS-Bench-201 with landmark regularization: train single-path
super-nets with and without landmarks, measure how well they rank architectures
against stand-alone accuracy, and search them."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="landmark-nas", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="log progress messages to the terminal, not only to the run log",
    )
    verbs = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    compare = verbs.add_parser(
        "compare",
        help="SPOS vs SPOS + landmarks, same seeds and budget (the main job)",
        description="Train a plain SPOS super-net and a landmark-regularized one for each "
        "seed with identical initialization, data and sampled architectures; "
        "rank, search, and report a table, results.json and PNG plots.",
    )
    add_config_options(compare, INPUT_OPTIONS, SUPERNET_OPTIONS, TRAIN_OPTIONS, SEARCH_OPTIONS)
    add_bool_options(compare)
    compare.add_argument(
        "--seeds",
        default="0",
        metavar="LIST",
        help="comma-separated run seeds, e.g. 0,1,2,3 (default: 0)",
    )
    compare.add_argument(
        "--variants",
        default="spos,landmarks",
        metavar="LIST",
        help="comma-separated variants from spos, landmarks, spos-matched "
        "(SPOS given the landmark run's images), landmarks-kN "
        "(regularize every N-th step) and landmarks-bN (N held-out images per landmark "
        "pass; landmarks-b64 is the paper's setting at batch 64) (default: spos,landmarks)",
    )
    compare.add_argument(
        "--out",
        default="runs/compare",
        metavar="DIR",
        help="output folder; rerunning resumes it (default: runs/compare)",
    )
    compare.add_argument(
        "--no-search", action="store_true", help="skip the evolutionary search after training"
    )
    compare.set_defaults(handler=commands.run_compare)

    train = verbs.add_parser(
        "train",
        help="train one super-net, with or without landmarks",
        description="Train one SPOS super-net; with --landmarks (default) "
        "it is landmark-regularized.",
    )
    add_config_options(train, INPUT_OPTIONS, SUPERNET_OPTIONS, TRAIN_OPTIONS)
    add_bool_options(train)
    train.add_argument(
        "--landmarks",
        dest="use_landmarks",
        default=None,
        action=argparse.BooleanOptionalAction,
        help="add the landmark regularizer (default: True)",
    )
    train.add_argument(
        "--out",
        default="runs/train",
        metavar="DIR",
        help="run folder; rerunning resumes it (default: runs/train)",
    )
    train.set_defaults(handler=commands.run_train)

    score = verbs.add_parser(
        "score",
        help="rank architectures with a saved super-net",
        description="Score architectures with a saved super-net on held-out images. Without "
        "--arch/--archs it scores the run's own ranking set and reproduces its "
        "correlations.",
    )
    _add_supernet_inputs(score)
    score.add_argument(
        "--arch",
        action="append",
        default=[],
        metavar="STR",
        help="architecture string to score (repeatable)",
    )
    score.add_argument("--archs", metavar="FILE", help="file of architecture strings, one a line")
    score.add_argument("--json", metavar="FILE", help="also write the scores as JSON")
    score.set_defaults(handler=commands.run_score)

    search = verbs.add_parser(
        "search",
        help="evolutionary search on a saved super-net",
        description="Aging evolution with super-net accuracy as fitness.",
    )
    _add_supernet_inputs(search)
    for name, kind, text in SEARCH_OPTIONS:
        search.add_argument(
            "--" + name.replace("_", "-"),
            dest=name,
            type=kind,
            default=None,
            help=f"{text} (default: the run's value)",
        )
    search.add_argument(
        "--seed", type=int, default=None, help="seed of the search (default: the run's seed)"
    )
    search.add_argument("--json", metavar="FILE", help="also write the result as JSON")
    search.set_defaults(handler=commands.run_search)

    arch = verbs.add_parser(
        "arch",
        help="validate an architecture string",
        description="Validate a NAS-Bench-201 string; print its canonical "
        "form and, with a benchmark, its index and accuracy.",
    )
    arch.add_argument("string", metavar="STR", help="e.g. '|nor_conv_3x3~0|+|...~0|...~1|+|...|'")
    arch.add_argument(
        "--benchmark",
        metavar="FILE",
        help="ground-truth file (else $LANDMARK_NAS_BENCHMARK; optional)",
    )
    arch.add_argument(
        "--benchmark-dataset", default="cifar10", help="accuracy column (default: cifar10)"
    )
    arch.set_defaults(handler=commands.run_arch)
    return parser


def _add_supernet_inputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("supernet", metavar="RUN", help="a run folder or its supernet.pt")
    parser.add_argument(
        "--data",
        help="folder holding cifar-10-batches-py (default: the run's, else $LANDMARK_NAS_DATA)",
    )
    parser.add_argument(
        "--benchmark", help="ground-truth file (default: the run's, else $LANDMARK_NAS_BENCHMARK)"
    )
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.handler(args) or 0
    except LandmarkNASError as error:
        print(f"landmark-nas: error: {error}", file=sys.stderr)
        return 130 if type(error).__name__ == "RunInterrupted" else 2
    except KeyboardInterrupt:
        print("landmark-nas: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1


def entry_point() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry_point()
