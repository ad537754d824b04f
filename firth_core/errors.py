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


class EmptyText(FirthError):
    """A text none of whose tokens the vocabulary holds, where a vector was required. `index` is
    its position in the list `field` (None when `field` holds one text)."""

    def __init__(self, index: int | None, tokens: list[str], field: str = "texts") -> None:
        self.index = index
        self.tokens = tokens
        self.field = field
        where = field if index is None else f"{field}[{index}]"
        shown = "no tokens" if not tokens else f"tokens {tokens[:10]!r}{' ...' if len(tokens) > 10 else ''}"
        hint = "" if index is None else "; send oov 'null' to get a null vector instead"
        super().__init__(f"{where} has no word in the vocabulary ({shown}){hint}")


class ResourceLimit(FirthError):
    """Not enough memory or disk space for the work asked; nothing is written."""


class TrainingStalled(FirthError):
    """Training ran but the vectors never moved from their random start; no model is written."""


class VectorizationError(InvalidQuery):
    """A TextVectorization option Keras' layer refuses too (max_tokens < 2, a sequence length
    outside int mode ...)."""


class IdOutOfRange(InvalidQuery):
    """A token id outside the layer's vocabulary (firth's encode ids)."""


class OutputTooLarge(InvalidQuery):
    """An answer past the service's size limits (a dense bag of a huge vocabulary, a whole matrix)."""


class NotAClassifier(FirthError):
    """A text-classification request to a model that holds word vectors only. `kind` says what it is."""

    def __init__(self, name: str, kind: str) -> None:
        self.name = name
        self.kind = kind
        super().__init__(
            f"model {name!r} is not a classifier: it holds {kind}; train one with "
            "`firth train --algorithm supervised`"
        )
