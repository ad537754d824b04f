"""Typed exceptions from the real app's problem+json answers, and from bodies that are not."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import numpy as np
import pytest

from firth_client import (
    AsyncFirthClient,
    FirthAPIError,
    FirthClient,
    PayloadTooLargeError,
    RateLimitedError,
    ServiceUnavailableError,
    UnexpectedResponseError,
    UnknownModelError,
    UnknownWordError,
    ValidationError,
)
from firth_client.errors import error_class_for, error_from_response, parse_retry_after
from firth_service.errors import problem_catalogue
from firth_service.settings import MAX_BODY_BYTES

# Problem types that have no more specific meaning for a caller than "the request failed".
GENERIC_PROBLEMS = {"/problems/not-found", "/problems/method-not-allowed", "/problems/internal-error"}


def test_unknown_word_carries_the_word_and_suggestions(client: FirthClient) -> None:
    with pytest.raises(UnknownWordError) as caught:
        client.vector("kingg")
    err = caught.value
    assert (err.status, err.type, err.word) == (404, "/problems/unknown-word", "kingg")
    assert "king" in err.suggestions
    assert isinstance(err, KeyError)  # gensim raises KeyError for a missing word
    assert str(err).startswith("404 Word not in vocabulary: ") and "kingg" in str(err)


def test_unknown_word_inside_a_query(client: FirthClient) -> None:
    with pytest.raises(UnknownWordError) as caught:
        client.most_similar(positive=["king", "qwzx"])
    assert caught.value.word == "qwzx"


def test_unknown_model(client: FirthClient) -> None:
    client.model = "nope"
    with pytest.raises(UnknownModelError) as caught:
        client.similarity("cat", "dog")
    assert caught.value.model == "nope" and {"tiny", "random"} <= set(caught.value.available)
    with pytest.raises(UnknownModelError):
        client.model_info("nope")


def test_request_validation_lists_the_fields(client: FirthClient) -> None:
    with pytest.raises(ValidationError) as caught:
        client.most_similar("king", topn=0)
    err = caught.value
    assert err.status == 422 and err.type == "/problems/validation-error"
    assert any(e["loc"][-1] == "k" for e in err.errors)
    assert isinstance(err, ValueError)


@pytest.mark.parametrize(
    ("call", "problem"),
    [
        (lambda c: c.most_similar(positive=[]), "/problems/empty-query"),
        (lambda c: c.similar_by_vector(np.ones(5)), "/problems/dimension-mismatch"),
        (lambda c: c.most_similar(positive=["king"], negative=["king"]), "/problems/invalid-vector"),
        (lambda c: c.evaluate(items=["cat\tdog\t1"], kind="pairs"), "/problems/invalid-query"),
    ],
)
def test_domain_errors_are_validation_errors(
    client: FirthClient, call: Callable[[FirthClient], object], problem: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        call(client)
    assert caught.value.type == problem and caught.value.status == 422


def test_body_too_large(client: FirthClient) -> None:
    line = "a\tb\t1" + " " * 1000
    with pytest.raises(PayloadTooLargeError) as caught:
        client.evaluate(items=[line] * (MAX_BODY_BYTES // 1000 + 10), kind="pairs")
    assert caught.value.status == 413 and caught.value.limit_bytes == MAX_BODY_BYTES


def test_bad_vector_is_refused_before_sending(client: FirthClient) -> None:
    with pytest.raises(ValueError, match="NaN"):
        client.similar_by_vector([1.0, float("nan"), 0.0])


@pytest.mark.anyio
async def test_async_client_raises_the_same_types(aclient: AsyncFirthClient) -> None:
    with pytest.raises(UnknownWordError) as caught:
        await aclient.similarity("cat", "zebra")
    assert caught.value.word == "zebra"
    with pytest.raises(ValidationError):
        await aclient.similar_by_vector([1.0, 2.0])


def test_every_problem_type_of_the_service_has_a_class(client: FirthClient) -> None:
    catalogue = client.problems()
    assert {p.type for p in catalogue} == {p["type"] for p in problem_catalogue()}
    for p in catalogue:
        cls = error_class_for(p.type, p.status)
        if p.type not in GENERIC_PROBLEMS:
            assert cls is not FirthAPIError, f"{p.type} has no exception class"


def _response(status: int, **kwargs: object) -> httpx.Response:
    return httpx.Response(status, request=httpx.Request("GET", "http://x/v1/models"), **kwargs)  # type: ignore[arg-type]


def test_error_from_a_body_that_is_not_problem_json() -> None:
    err = error_from_response(_response(503, text="<html>bad gateway</html>", headers={"Retry-After": "7"}))
    assert isinstance(err, ServiceUnavailableError)
    assert (err.type, err.retry_after, err.title) == ("about:blank", 7.0, "Service Unavailable")
    assert "bad gateway" in err.detail
    assert isinstance(error_from_response(_response(429, json={"error": "slow down"})), RateLimitedError)
    assert type(error_from_response(_response(418, text=""))) is FirthAPIError


def test_absolute_problem_type_uris_are_recognised() -> None:
    body = {"type": "https://firth.example/problems/unknown-word", "title": "t", "status": 404, "word": "w"}
    err = error_from_response(_response(404, json=body))
    assert isinstance(err, UnknownWordError) and err.word == "w"


def test_success_with_an_unreadable_body_is_an_unexpected_response() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"surprise": True}))
    with (
        FirthClient("http://x", transport=transport) as firth,
        pytest.raises(UnexpectedResponseError, match=re.escape("/v1/models/{model}/similarity")),
    ):
        firth.similarity("a", "b")


def test_retry_after_forms() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("-4") == 0.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
