"""The cost budget of one request, checked from its shape before any work starts.

Each field of a request is bounded by the schema (k, batch sizes, terms); these bound what they
multiply to. Scratch memory is kept within MAX_SCRATCH_BYTES by chunking the work (3CosMul scans,
evaluation tiles), not by refusing; what cannot be chunked, the answer itself, is refused here.
A refusal is a 422 `/problems/over-budget` naming the budget, the estimate and the limit.
"""

from __future__ import annotations

from collections.abc import Iterable

from firth_service.errors import OverBudget
from firth_service.settings import MAX_NEIGHBOURS, MAX_RESPONSE_BYTES, MAX_TERMS

# Estimated JSON bytes, generously: a float as orjson writes it with its comma ("-0.12345678,"
# is 12, a float64 up to 24), a neighbour entry ({"word": ..., "similarity": ...}) with a word.
FLOAT_BYTES = 24
NEIGHBOUR_BYTES = 64


def check_terms(positive: int, negative: int) -> None:
    if positive + negative > MAX_TERMS:
        raise OverBudget("terms in one query (positive + negative)", positive + negative, MAX_TERMS, "terms")


def check_neighbours(ks: Iterable[int]) -> None:
    total = sum(ks)
    if total > MAX_NEIGHBOURS:
        raise OverBudget("neighbours in one request (batch x k)", total, MAX_NEIGHBOURS, "neighbours")
    check_response(total * NEIGHBOUR_BYTES)


def check_response(estimate: int) -> None:
    if estimate > MAX_RESPONSE_BYTES:
        raise OverBudget("estimated response size", estimate, MAX_RESPONSE_BYTES, "bytes")


def check_vectors(words: int, dim: int) -> None:
    check_response(words * (dim * FLOAT_BYTES + 2 * NEIGHBOUR_BYTES))


def check_matrix(rows: int, columns: int) -> None:
    check_response(rows * columns * FLOAT_BYTES)
