"""Retries: which calls and answers are retried, how long the client waits, Retry-After.
A MockTransport plays the server and counts the calls; the waits are recorded, not slept."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

import firth_client._async
import firth_client._sync
from firth_client import (
    AsyncFirthClient,
    FirthClient,
    RateLimitedError,
    RetryPolicy,
    ServiceUnavailableError,
    UnknownWordError,
)

UNAVAILABLE = {
    "type": "/problems/model-unavailable",
    "title": "Model unavailable",
    "status": 503,
    "detail": "x",
}
UNKNOWN = {"type": "/problems/unknown-word", "title": "Word not in vocabulary", "status": 404, "word": "q"}
OK_SIMILARITY = {"a": "cat", "b": "dog", "similarity": 0.5}
OK_NEIGHBORS = {"model": "m", "positive": ["cat"], "negative": [], "index": "exact", "neighbors": []}


class Script:
    """Answers the scripted responses in order (the last one repeats) and counts requests."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers[min(len(self.requests), len(self.answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer


def problem(status: int, body: dict[str, object], **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers={"content-type": "application/problem+json", **headers})


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    recorded: list[float] = []

    async def async_sleep(seconds: float) -> None:
        recorded.append(seconds)

    monkeypatch.setattr(firth_client._sync, "_sleep", recorded.append)
    monkeypatch.setattr(firth_client._async, "_sleep", async_sleep)
    yield recorded


def sync_client(script: Script, **options: float) -> FirthClient:
    return FirthClient("http://firth.test", transport=httpx.MockTransport(script), **options)  # type: ignore[arg-type]


def test_503_twice_then_200(waits: list[float]) -> None:
    script = Script(
        problem(503, UNAVAILABLE), problem(503, UNAVAILABLE), httpx.Response(200, json=OK_SIMILARITY)
    )
    with sync_client(script, retries=3, backoff=0.1) as firth:
        assert firth.similarity("cat", "dog") == 0.5
    assert len(script.requests) == 3 and len(waits) == 2
    assert 0.05 <= waits[0] <= 0.1 and 0.1 <= waits[1] <= 0.2  # doubling, with jitter


def test_query_posts_are_retried_too(waits: list[float]) -> None:
    script = Script(problem(503, UNAVAILABLE), httpx.Response(200, json=OK_NEIGHBORS))
    with sync_client(script, backoff=0) as firth:
        assert firth.most_similar("cat") == []
    assert [r.method for r in script.requests] == ["POST", "POST"]
    assert script.requests[0].content == script.requests[1].content


def test_404_is_not_retried(waits: list[float]) -> None:
    script = Script(problem(404, UNKNOWN), httpx.Response(200, json=OK_SIMILARITY))
    with sync_client(script) as firth, pytest.raises(UnknownWordError):
        firth.similarity("cat", "q")
    assert len(script.requests) == 1 and waits == []


def test_500_is_not_retried(waits: list[float]) -> None:
    script = Script(httpx.Response(500, json={"type": "/problems/internal-error", "title": "Internal error"}))
    with sync_client(script) as firth, pytest.raises(Exception) as caught:
        firth.similarity("cat", "dog")
    assert getattr(caught.value, "status", None) == 500 and len(script.requests) == 1


def test_gives_up_after_the_retries(waits: list[float]) -> None:
    script = Script(problem(503, UNAVAILABLE, **{"Retry-After": "1"}))
    with sync_client(script, retries=2) as firth, pytest.raises(ServiceUnavailableError) as caught:
        firth.similarity("cat", "dog")
    assert len(script.requests) == 3 and waits == [1.0, 1.0]
    assert caught.value.retry_after == 1.0


def test_backoff_is_capped(waits: list[float]) -> None:
    script = Script(problem(503, UNAVAILABLE))
    with (
        sync_client(script, retries=6, backoff=1.0, backoff_cap=3.0) as firth,
        pytest.raises(ServiceUnavailableError),
    ):
        firth.similarity("cat", "dog")
    assert len(waits) == 6 and max(waits) <= 3.0 and min(waits[2:]) >= 1.5


def test_429_honours_retry_after(waits: list[float]) -> None:
    script = Script(
        problem(429, {"type": "about:blank", "title": "Too many"}, **{"Retry-After": "2.5"}),
        httpx.Response(200, json=OK_SIMILARITY),
    )
    with sync_client(script, backoff=0.01) as firth:
        assert firth.similarity("cat", "dog") == 0.5
    assert waits == [2.5]


def test_a_very_long_retry_after_is_not_waited_for(waits: list[float]) -> None:
    script = Script(problem(429, {"type": "about:blank", "title": "Too many"}, **{"Retry-After": "3600"}))
    with sync_client(script) as firth, pytest.raises(RateLimitedError) as caught:
        firth.similarity("cat", "dog")
    assert len(script.requests) == 1 and caught.value.retry_after == 3600.0


def test_probes_are_not_retried(waits: list[float]) -> None:
    script = Script(problem(503, {"type": "/problems/not-ready", "title": "Not ready", "detail": "loading"}))
    with sync_client(script) as firth, pytest.raises(ServiceUnavailableError, match="loading"):
        firth.ready()
    assert len(script.requests) == 1


def test_connect_errors_are_retried_read_timeouts_are_not(waits: list[float]) -> None:
    script = Script(httpx.ConnectError("refused"), httpx.Response(200, json=OK_SIMILARITY))
    with sync_client(script, backoff=0) as firth:
        assert firth.similarity("cat", "dog") == 0.5
    assert len(script.requests) == 2
    script = Script(httpx.ReadTimeout("slow"), httpx.Response(200, json=OK_SIMILARITY))
    with sync_client(script) as firth, pytest.raises(httpx.ReadTimeout):
        firth.similarity("cat", "dog")
    assert len(script.requests) == 1


def test_retries_zero_sends_once(waits: list[float]) -> None:
    script = Script(problem(503, UNAVAILABLE))
    with sync_client(script, retries=0) as firth, pytest.raises(ServiceUnavailableError):
        firth.similarity("cat", "dog")
    assert len(script.requests) == 1 and waits == []


@pytest.mark.anyio
async def test_async_503_twice_then_200_and_404_once(waits: list[float]) -> None:
    script = Script(
        problem(503, UNAVAILABLE), problem(503, UNAVAILABLE), httpx.Response(200, json=OK_NEIGHBORS)
    )
    async with AsyncFirthClient(
        "http://firth.test", transport=httpx.MockTransport(script), backoff=0.1
    ) as firth:
        assert await firth.most_similar("cat") == []
        assert len(script.requests) == 3 and len(waits) == 2
        script.answers, script.requests = [problem(404, UNKNOWN)], []
        with pytest.raises(UnknownWordError):
            await firth.vector("q")
        assert len(script.requests) == 1


@pytest.mark.parametrize(
    ("decide", "expected"),
    [
        (lambda p, r: p.after_response(False, r(503), 0), None),  # not idempotent
        (lambda p, r: p.after_response(True, r(503), 3), None),  # out of retries
        (lambda p, r: p.after_response(True, r(200), 0), None),
        (lambda p, r: p.after_response(True, r(400), 0), None),
        (lambda p, r: p.after_error(False, httpx.ConnectError("x"), 0), None),
        (lambda p, r: p.after_error(True, ValueError("x"), 0), None),
    ],
)
def test_policy_keeps_the_answer(
    decide: Callable[[RetryPolicy, Callable[[int], httpx.Response]], float | None], expected: None
) -> None:
    assert decide(RetryPolicy(retries=3), lambda status: httpx.Response(status)) is expected


def test_policy_refuses_negative_settings() -> None:
    with pytest.raises(ValueError, match="retries"):
        RetryPolicy(retries=-1)
