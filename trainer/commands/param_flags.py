"""argparse flags made from the trainers' tables of defaults.

A hyperparameter is a field of a frozen dataclass (trainer/word2vec.py:Word2VecParams,
trainer/glove.py:GloveParams, trainer/vocab.py:VocabParams) whose metadata holds its help line
(and, when the flag is not --field-name, "flag", "aliases" or "choices"); the tables beside the
trainers hold the values. A flag that several algorithms share is added once, and its help shows
each algorithm's default. Flags are added with no default of their own, so the namespace holds
only the ones given: `params_from_args` lays those over the chosen algorithm's table.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from firth_core.errors import ConfigurationError

P = TypeVar("P")


@dataclasses.dataclass
class _Flag:
    field: dataclasses.Field[Any]
    kind: type  # what argparse converts the text to
    owners: dict[str, Any]  # algorithm -> its table entry, for every algorithm with this field


def _is_flag(f: dataclasses.Field[Any]) -> bool:
    return "help" in f.metadata


def option_name(f: dataclasses.Field[Any]) -> str:
    return str(f.metadata.get("flag", "--" + f.name.replace("_", "-")))


def _kind(cls: type, name: str) -> type:
    hint = typing.get_type_hints(cls)[name]
    if isinstance(hint, types.UnionType):  # `int | None`: the flag takes an int
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    return typing.cast(type, hint)


def _flags(tables: Mapping[str, Any]) -> dict[str, _Flag]:
    flags: dict[str, _Flag] = {}
    for algorithm, params in tables.items():
        for f in dataclasses.fields(params):
            if not _is_flag(f):
                continue
            if f.name not in flags:
                flags[f.name] = _Flag(f, _kind(type(params), f.name), {})
            flags[f.name].owners[algorithm] = params
    return flags


def _show(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _defaults(owners: Mapping[str, Any], name: str, tables: Mapping[str, Any]) -> str:
    """`[5]` when every owner agrees, else `[word2vec, fasttext 5, glove 15]` or
    `[sgns 0.025, cbow 0.05]`: families' names stand for all of their algorithms when they agree."""
    values: dict[Any, list[str]] = {}
    for algorithm, params in owners.items():
        values.setdefault(getattr(params, name), []).append(algorithm)
    if None in values:
        return ""  # "no limit" and the like: the help line says what None means
    if len(values) == 1:
        return f" [{_show(next(iter(values)))}]"
    shown = []
    for value, algorithms in values.items():
        families = dict.fromkeys(type(owners[a]).family for a in algorithms)
        whole = [a for a, p in tables.items() if type(p).family in families]
        label = ", ".join(families) if algorithms == whole else ", ".join(algorithms)
        shown.append(f"{label} {_show(value)}")
    return f" [{', '.join(shown)}]"


def _help(flag: _Flag, tables: Mapping[str, Any]) -> str:
    """One help line; where families give the field different meanings, one clause a family."""
    by_help: dict[str, dict[str, Any]] = {}
    for algorithm, params in flag.owners.items():
        line = next(f for f in dataclasses.fields(params) if f.name == flag.field.name).metadata["help"]
        by_help.setdefault(line, {})[algorithm] = params
    if len(by_help) == 1:
        line, owners = next(iter(by_help.items()))
        return line + _defaults(owners, flag.field.name, tables)
    clauses = []
    for line, owners in by_help.items():
        families = dict.fromkeys(type(p).family for p in owners.values())
        clauses.append(f"{', '.join(families)}: {line}{_defaults(owners, flag.field.name, tables)}")
    return "; ".join(clauses)


def add_param_flags(parser: argparse.ArgumentParser, tables: Mapping[str, Any], shared_title: str) -> None:
    """One flag for each field of the tables' dataclasses, in argument groups: the fields every
    table has under `shared_title`, the others under their family's name (word2vec, glove)."""
    groups: dict[str, argparse._ArgumentGroup] = {}
    families = {type(p).family for p in tables.values()}
    for flag in _flags(tables).values():
        owned = {type(p).family for p in flag.owners.values()}
        title = shared_title if owned == families else ", ".join(sorted(owned))
        if title not in groups:
            groups[title] = parser.add_argument_group(title)
        f = flag.field
        choices = f.metadata.get("choices")
        groups[title].add_argument(
            option_name(f),
            *f.metadata.get("aliases", ()),
            dest=f.name,
            metavar=None if choices else option_name(f).lstrip("-").upper().replace("-", "_"),
            type=flag.kind,
            choices=choices,
            default=argparse.SUPPRESS,
            help=_help(flag, tables).replace("%", "%%"),
        )


def params_from_args(args: argparse.Namespace, algorithm: str, tables: Mapping[str, P]) -> P:
    """The algorithm's table entry with the flags given on the command line laid over it; a flag
    of another algorithm is a ConfigurationError."""
    given = vars(args)
    defaults = tables[algorithm]
    overrides: dict[str, Any] = {}
    for name, flag in _flags(tables).items():
        if name not in given:
            continue
        if algorithm not in flag.owners:
            raise ConfigurationError(
                f"{option_name(flag.field)} does not apply to {algorithm}; "
                f"it is a flag of {', '.join(flag.owners)}"
            )
        overrides[name] = given[name]
    return dataclasses.replace(defaults, **overrides)  # type: ignore[type-var]
