"""Word standardisation: the same function is applied to training text and to service queries.

The model records the name of its standardiser in meta.json, so a query for `King` on a
lower-cased model finds `king`. Names follow Keras' TextVectorization `standardize` options.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable

_PUNCTUATION = re.compile("[" + re.escape(string.punctuation) + "]")


def _identity(word: str) -> str:
    return word


def _lower(word: str) -> str:
    return word.lower()


def _lower_and_strip_punctuation(text: str) -> str:
    return _PUNCTUATION.sub("", text.lower())


STANDARDIZERS: dict[str, Callable[[str], str]] = {
    "none": _identity,
    "lower": _lower,
    "lower_and_strip_punctuation": _lower_and_strip_punctuation,
}


def get_standardizer(name: str) -> Callable[[str], str]:
    try:
        return STANDARDIZERS[name]
    except KeyError:
        raise ValueError(f"unknown standardize {name!r}; choose one of {sorted(STANDARDIZERS)}") from None
