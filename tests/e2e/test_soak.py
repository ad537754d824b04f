"""bench/soak.py in miniature: a few seconds of its mix against the real 2-worker server, with
one request kind that is meant to fail, so its error counter is seen to count."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import soak  # bench/ scripts import each other by bare name

pytestmark = pytest.mark.e2e


def test_a_short_soak_counts_only_the_failing_kind(
    default_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def unknown_word(rng: random.Random) -> soak.Request:
        return "GET", "/v1/models/default/vectors/zzqqxxzz", None

    broken = soak.Kind("expects 200 from an unknown word", 5, unknown_word, frozenset({200}))
    outcome = soak.run_soak(
        default_model_dir, seconds=4, rate=40, warmup=1, clients=1, extra_kinds=[broken], prime_rounds=1
    )
    printed = capsys.readouterr().out
    tally = outcome.tally
    assert tally.sent == 160
    answered = sum(tally.statuses.values())
    assert answered + tally.error_count >= tally.sent  # every request answered or counted as an error
    failing = tally.statuses[(broken.name, 404)]
    assert failing > 0
    assert tally.errors == {(broken.name, "unexpected 404"): failing}  # and nothing else failed
    assert len(outcome.pss_growth) == 2 and all(g < 1 for g in outcome.pss_growth.values())
    assert not outcome.passed
    assert f"errors: {failing}" in printed and "FAIL: errors" in printed


def test_error_shapes() -> None:
    request = httpx.Request("GET", "http://x/")
    problem = {"type": "/problems/unknown-word", "title": "t", "status": 404, "detail": "d"}
    assert soak.is_error_shape(
        "/v1/models/default/vectors/x",
        httpx.Response(
            404, json=problem, headers={"content-type": "application/problem+json"}, request=request
        ),
    )
    assert not soak.is_error_shape("/v1/models", httpx.Response(404, text="Not Found", request=request))
    assert not soak.is_error_shape(
        "/v1/models", httpx.Response(404, json=problem, request=request)
    )  # JSON, not problem
    error = {"error": {"message": "m", "type": "requests", "param": None, "code": "rate_limit_exceeded"}}
    assert soak.is_error_shape("/openai/v1/embeddings", httpx.Response(429, json=error, request=request))
    assert not soak.is_error_shape(
        "/openai/v1/embeddings", httpx.Response(429, json=problem, request=request)
    )
