"""The cost budget of one request, checked from its shape before any work starts.

Each field of a request is bounded by the schema (k, batch sizes, terms); these bound what they
multiply to. Scratch memory is kept within MAX_SCRATCH_BYTES by chunking the work (3CosMul scans,
evaluation tiles), not by refusing; what cannot be chunked, the answer itself, is refused here.
A refusal is a 422 `/problems/over-budget` naming the budget, the estimate and the limit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from firth_service.errors import OverBudget
from firth_service.settings import MAX_NEIGHBOURS, MAX_RESPONSE_BYTES, MAX_TERMS

# Estimated JSON bytes, generously: a float as orjson writes it with its comma ("-0.12345678,"
# is 12, a float64 up to 24), a neighbour entry ({"word": ..., "similarity": ...}) with a word.
FLOAT_BYTES = 24
NEIGHBOUR_BYTES = 64
NEIGHBOUR_ENTRY_BYTES = 48  # a neighbour entry around its word (quotes and comma included)
# A float32 written by orjson in its shortest form, with its comma: at most "-1.2345678e-38,".
FLOAT32_BYTES = 16
TEXT_BYTES = 64  # a text's entry around its token lists: {"tokens": [], "oov": [], "subword": []}
EMBEDDING_ITEM_BYTES = 64  # OpenAI's {"object": "embedding", "index": i, "embedding": ...}
NPY_HEADER_BYTES = 128  # np.save's header is padded to a multiple of 64 bytes; 128 for a 2-d shape
# Characters JSON escapes: a control character becomes 6 bytes ("\u0001"), a quote or backslash 2.
_ESCAPED = re.compile(r'[\x00-\x1f"\\]')


def check_terms(positive: int, negative: int) -> None:
    if positive + negative > MAX_TERMS:
        raise OverBudget("terms in one query (positive + negative)", positive + negative, MAX_TERMS, "terms")


def check_neighbours(ks: Iterable[int], longest_word_bytes: int = 0) -> None:
    """batch x k within MAX_NEIGHBOURS, and their answer within the response budget: a neighbour
    entry ({"word": "...", "similarity": -0.12345678901234567}) at the model's longest word, which
    in a model of long words (phrases, URLs) is far more than NEIGHBOUR_BYTES."""
    total = sum(ks)
    if total > MAX_NEIGHBOURS:
        raise OverBudget("neighbours in one request (batch x k)", total, MAX_NEIGHBOURS, "neighbours")
    entry = max(NEIGHBOUR_BYTES, NEIGHBOUR_ENTRY_BYTES + longest_word_bytes)
    check_response(total * entry, "ask for fewer neighbours (a smaller k or fewer queries)")


def check_response(estimate: int, advice: str = "") -> None:
    """`advice` ends the problem's detail: what to send less of."""
    if estimate > MAX_RESPONSE_BYTES:
        raise OverBudget("estimated response size", estimate, MAX_RESPONSE_BYTES, "bytes", advice)


def check_vectors(words: int, dim: int) -> None:
    check_response(words * (dim * FLOAT_BYTES + 2 * NEIGHBOUR_BYTES))


def check_matrix(rows: int, columns: int) -> None:
    check_response(rows * columns * FLOAT_BYTES)


def json_string_bytes(strings: Sequence[str]) -> int:
    """An upper bound on the JSON of these strings in a list: UTF-8, quotes, comma and escapes
    (counted over the strings joined: one pass in C, for a million tokens too)."""
    joined = "".join(strings)
    return len(joined.encode("utf-8", "surrogatepass")) + 5 * len(_ESCAPED.findall(joined)) + 3 * len(strings)


def vector_bytes(dim: int, encoding: str = "float") -> int:
    """One float32 vector in an answer: a JSON list, or base64 of its little-endian bytes."""
    return 4 * -(-dim * 4 // 3) + 3 if encoding == "base64" else dim * FLOAT32_BYTES + 2


def check_npy(rows: int, columns: int, advice: str = "", itemsize: int = 4) -> None:
    """A .npy answer: its header and rows x columns numbers of `itemsize` bytes, exactly."""
    check_response(NPY_HEADER_BYTES + rows * columns * itemsize, advice)


def check_float32_json(rows: int, columns: int, extra: int = 0, advice: str = "") -> None:
    """rows x columns float32 numbers as JSON, plus `extra` bytes of the rest of the answer."""
    check_response(rows * columns * FLOAT32_BYTES + extra, advice)
