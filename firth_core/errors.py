"""Domain exceptions. Core code raises these; the service maps them to HTTP status codes in one
table (service/errors.py) and the CLI prints their message on one line."""

from __future__ import annotations


class FirthError(Exception):
    """Base of every error firth reports to a user. `str(err)` is safe to show."""


class UnknownWord(FirthError):
    def __init__(self, word: str, suggestions: list[str] | None = None) -> None:
        self.word = word
        self.suggestions = suggestions or []
        super().__init__(f"word {word!r} is not in the vocabulary")


class UnknownModel(FirthError):
    def __init__(self, name: str, available: list[str]) -> None:
        self.name = name
        self.available = available
        super().__init__(f"model {name!r} is not loaded")


class EmptyQuery(FirthError):
    """A query with nothing to search for (no positive terms, empty word list ...)."""


class InvalidQuery(FirthError):
    """A query that is well-formed JSON but cannot be answered as asked."""


class DimensionMismatch(FirthError):
    def __init__(self, expected: int, got: int) -> None:
        self.expected = expected
        self.got = got
        super().__init__(f"vector has {got} dimensions, the model has {expected}")


class InvalidVector(FirthError):
    """A raw query vector that is zero, or holds NaN or Inf."""


class ArtifactError(FirthError):
    """A model directory that cannot be read or written; the message names the file and reason."""


class InputFormatError(FirthError):
    """A malformed input file (pretrained vectors, evaluation set, corpus)."""


class ConfigurationError(FirthError):
    """A setting that cannot be used: a hyperparameter out of range, a flag that does not apply."""


class TrainingDiverged(FirthError):
    """Training blew up (the loss rose instead of falling); no model is written."""


class ResourceLimit(FirthError):
    """Not enough memory or disk space for the work asked; nothing is written."""


class TrainingStalled(FirthError):
    """Training ran but the vectors never moved from their random start; no model is written."""
