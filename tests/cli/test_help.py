"""Every verb's ``--help`` works and documents each of its options."""

from __future__ import annotations

import pytest

from landmark_nas import __version__
from landmark_nas.cli.main import build_parser
from tests.helpers import run_cli

INPUTS = [
    "--data",
    "--benchmark",
    "--benchmark-dataset",
    "--benchmark-format",
    "--seed",
    "--threads",
    "--config",
]
SUPERNET = [
    "--channels",
    "--cells-per-stage",
    "--bn-mode",
    "--recalibration-batches",
    "--augment",
    "--no-augment",
    "--channels-last",
    "--no-channels-last",
]
TRAINING = [
    "--train-images",
    "--landmark-images",
    "--ranking-images",
    "--batch-size",
    "--epochs",
    "--steps",
    "--lr",
    "--lr-min",
    "--momentum",
    "--weight-decay",
    "--grad-clip",
    "--sampler",
    "--landmark-count",
    "--landmark-selection",
    "--landmark-seed",
    "--landmark-pairs",
    "--landmark-lambda",
    "--landmark-loss",
    "--landmark-schedule",
    "--landmark-warmup-epochs",
    "--landmark-every",
    "--landmark-batch-size",
    "--ranking-archs",
    "--ranking-seed",
    "--eval-batch-size",
    "--eval-every",
    "--top-fraction",
    "--checkpoint-every",
]
SEARCH = ["--search-population", "--search-sample", "--search-cycles", "--search-images"]
SAVED = ["--data", "--benchmark", "--threads"]

OPTIONS = {
    "compare": INPUTS
    + SUPERNET
    + TRAINING
    + SEARCH
    + ["--seeds", "--variants", "--out", "--no-search"],
    "train": INPUTS + SUPERNET + TRAINING + ["--landmarks", "--no-landmarks", "--out"],
    "score": SAVED + ["--arch", "--archs", "--json", "RUN"],
    "search": SAVED + SEARCH + ["--seed", "--json", "RUN"],
    "arch": ["--benchmark", "--benchmark-dataset", "STR"],
}


def declared_options(verb: str) -> set[str]:
    parser = build_parser()
    verbs = next(a for a in parser._actions if a.dest == "command")
    return {option for action in verbs.choices[verb]._actions for option in action.option_strings}


@pytest.mark.parametrize("verb", sorted(OPTIONS))
def test_help_of_each_verb_exits_0_and_mentions_every_option(verb, capsys):
    code, out, err = run_cli([verb, "--help"], capsys)
    assert code == 0 and err == ""
    missing = [option for option in OPTIONS[verb] if option not in out]
    assert missing == []
    undocumented = sorted(o for o in declared_options(verb) if o not in out)
    assert undocumented == []


@pytest.mark.parametrize("verb", ["compare", "train"])
def test_help_shows_each_fields_default(verb, capsys):
    _, out, _ = run_cli([verb, "--help"], capsys)
    text = " ".join(out.split())
    assert "(default: 0.025)" in text  # --lr
    assert "(default: 30)" in text  # --landmark-count
    assert "first 30% of steps" in text


def test_top_level_help_lists_the_verbs_and_version(capsys):
    code, out, _ = run_cli(["--help"], capsys)
    assert code == 0
    for verb in OPTIONS:
        assert verb in out
    code, out, _ = run_cli(["--version"], capsys)
    assert code == 0 and __version__ in out


def test_a_missing_verb_is_a_usage_error(capsys):
    code, _, err = run_cli([], capsys)
    assert code == 2 and "COMMAND" in err
