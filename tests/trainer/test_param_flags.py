"""`firth train`'s hyperparameter flags come from the tables of defaults beside the trainers: left
out, a flag takes the chosen algorithm's value; --help shows each table's values; a flag of
another algorithm or a value out of range is a configuration error (exit 2, one line)."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import pytest

from firth_core.errors import ConfigurationError, InputFormatError
from firth_trainer.cli import build_parser
from firth_trainer.commands.param_flags import option_name
from firth_trainer.commands.train import config_from_args
from firth_trainer.glove import GLOVE_DEFAULTS, GloveParams
from firth_trainer.pipeline import ALGORITHMS, TrainConfig, TrainerParams, train_model
from firth_trainer.vocab import VocabParams
from firth_trainer.word2vec import WORD2VEC_DEFAULTS, Word2VecParams

from .conftest import error_before_reading


def parse(*flags: str) -> argparse.Namespace:
    return build_parser().parse_args(["train", "--corpus", "c.txt", "--out", "m", *flags])


def train_actions() -> dict[str, argparse.Action]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {a.dest: a for a in sub.choices["train"]._actions}


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
def test_flags_left_out_take_the_algorithms_table(algorithm: str) -> None:
    cfg = config_from_args(parse("--algorithm", algorithm))
    assert cfg.params == ALGORITHMS[algorithm]
    assert cfg.algorithm == algorithm
    # fastText's supervised minCount is 1; every other algorithm takes VocabParams' own defaults
    assert cfg.vocab == (VocabParams(min_count=1) if algorithm == "supervised" else VocabParams())


def test_the_tables_differ_where_the_algorithms_do() -> None:
    sgns, cbow, glove = ALGORITHMS["sgns"], ALGORITHMS["cbow"], ALGORITHMS["glove"]
    assert isinstance(sgns, Word2VecParams) and isinstance(cbow, Word2VecParams)
    assert (sgns.alpha, cbow.alpha) == (0.025, 0.05)  # word2vec.c's rates
    # both batch by default: a skip-gram window, a pair of CBOW centre words share their negatives
    # (README: groups of 2 keep CBOW within gensim's margins; groups of 4 did not)
    assert (sgns.batch_negatives, cbow.batch_negatives) == ("on", "on")
    assert dataclasses.replace(cbow, algorithm="sgns", alpha=sgns.alpha) == sgns
    assert isinstance(glove, GloveParams) and (glove.window, glove.epochs, glove.alpha) == (15, 25, 0.75)


def test_given_flags_are_laid_over_the_table() -> None:
    cfg = config_from_args(parse("--algorithm", "cbow", "--window", "7", "--iter", "3", "--min-count", "2"))
    assert cfg.params == dataclasses.replace(WORD2VEC_DEFAULTS["cbow"], window=7, epochs=3)
    assert cfg.vocab == VocabParams(min_count=2)
    cfg = config_from_args(parse("--algorithm", "glove", "--alpha", "0.5", "--memory", "0.25"))
    assert cfg.params == dataclasses.replace(GLOVE_DEFAULTS["glove"], alpha=0.5, memory_gb=0.25)


def test_a_glove_run_carries_no_word2vec_parameters() -> None:
    cfg = config_from_args(parse("--algorithm", "glove"))
    assert not any(isinstance(getattr(cfg, f.name), Word2VecParams) for f in dataclasses.fields(cfg))


def test_help_shows_every_tables_defaults() -> None:
    actions = train_actions()
    for algorithm, params in ALGORITHMS.items():
        for f in dataclasses.fields(params):
            if "help" not in f.metadata:
                continue
            help_text = actions[f.name].help or ""
            value = getattr(params, f.name)
            shown = f"{value:g}" if isinstance(value, float) else str(value)
            assert shown in help_text, (algorithm, f.name, help_text)
            assert actions[f.name].default is argparse.SUPPRESS  # the tables decide, not argparse
    assert "sgns 0.025, cbow 0.05" in (actions["alpha"].help or "")
    assert "[word2vec, fasttext 5, glove 15]" in (actions["window"].help or "")
    assert (
        option_name(next(f for f in dataclasses.fields(GloveParams) if f.name == "memory_gb")) == "--memory"
    )


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["--algorithm", "glove", "--negative", "3"],
            "--negative does not apply to glove; it is a flag of sgns, cbow",
        ),
        (["--min-alpha", "0.001", "--algorithm", "glove"], "--min-alpha does not apply to glove"),
        (["--eta", "0.1"], "--eta does not apply to sgns; it is a flag of glove"),
        (["--algorithm", "cbow", "--memory", "1"], "--memory does not apply to cbow; it is a flag of glove"),
    ],
)
def test_a_flag_of_another_algorithm_is_one_line_before_reading(
    tmp_path: Path, flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    err = error_before_reading(tmp_path, flags, capsys)
    assert err.startswith(f"firth train: error: {message}") and err.count("\n") == 1, err


@pytest.mark.parametrize(
    "params",
    [
        dataclasses.replace(WORD2VEC_DEFAULTS["sgns"], dim=0),
        dataclasses.replace(WORD2VEC_DEFAULTS["cbow"], algorithm="glove"),
        dataclasses.replace(GLOVE_DEFAULTS["glove"], eta=float("nan")),
        dataclasses.replace(WORD2VEC_DEFAULTS["sgns"], hot_rows=-1),
        dataclasses.replace(WORD2VEC_DEFAULTS["cbow"], hot_rows=100, batch_negatives="off"),
    ],
)
def test_bad_values_are_configuration_errors_not_input_errors(tmp_path: Path, params: TrainerParams) -> None:
    cfg = TrainConfig(corpus=str(tmp_path / "c.txt"), out=str(tmp_path / "m"), params=params)
    with pytest.raises(ConfigurationError) as info:
        train_model(cfg)
    assert not isinstance(info.value, InputFormatError)
    with pytest.raises(ConfigurationError, match="min-count must be >= 1"):
        train_model(dataclasses.replace(cfg, params=ALGORITHMS["sgns"], vocab=VocabParams(min_count=0)))
    assert not (tmp_path / "m").exists()
