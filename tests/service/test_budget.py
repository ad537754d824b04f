"""The cost budget: requests whose shape multiplies past it are refused as problem+json before any
work, with the real app on the hand-made models."""

from __future__ import annotations

import httpx
import pytest

from firth_service.budget import FLOAT_BYTES
from firth_service.errors import problem_catalogue
from firth_service.settings import MAX_NEIGHBOURS, MAX_RESPONSE_BYTES, MAX_TERMS

pytestmark = pytest.mark.anyio
RANDOM = "/v1/models/random"


def assert_over_budget(response: httpx.Response, budget: str, limit: int) -> dict[str, object]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "/problems/over-budget"
    assert budget in body["budget"] and body["limit"] == limit and body["estimate"] > limit
    return body


async def test_terms_over_the_total_are_refused_but_the_total_itself_is_served(
    api: httpx.AsyncClient,
) -> None:
    words = [f"w{i:04d}" for i in range(MAX_TERMS + 1)]
    refused = await api.post(f"{RANDOM}/neighbors", json={"positive": words[:60], "negative": words[60:]})
    body = assert_over_budget(refused, "terms", MAX_TERMS)
    assert body["estimate"] == MAX_TERMS + 1
    served = await api.post(
        f"{RANDOM}/neighbors", json={"positive": words[:60], "negative": words[60:MAX_TERMS], "k": 3}
    )
    assert served.status_code == 200, served.text
    assert len(served.json()["neighbors"]) == 3


async def test_a_batch_of_neighbours_past_the_budget_is_refused(api: httpx.AsyncClient) -> None:
    batch = MAX_NEIGHBOURS // 1000 + 1  # 101 queries x k 1000: each field within its limit
    queries = [{"positive": ["w0001"], "k": 1000} for _ in range(batch)]
    refused = await api.post(f"{RANDOM}/neighbors/batch", json={"queries": queries})
    assert_over_budget(refused, "neighbours", MAX_NEIGHBOURS)
    questions = [{"a": "w0001", "b": "w0002", "c": "w0003"}] * batch
    refused = await api.post(f"{RANDOM}/analogy", json={"questions": questions, "k": 1000})
    assert_over_budget(refused, "neighbours", MAX_NEIGHBOURS)
    within = await api.post(f"{RANDOM}/neighbors/batch", json={"queries": queries[:-1]})
    assert within.status_code == 200 and len(within.json()["results"]) == batch - 1


async def test_an_answer_past_16_mib_is_refused(api: httpx.AsyncClient) -> None:
    side = 1000  # a 1000 x 1000 cosine matrix: ~24 MB of JSON
    assert side * side * FLOAT_BYTES > MAX_RESPONSE_BYTES
    words = [f"w{i:04d}" for i in range(side)]
    refused = await api.post(f"{RANDOM}/similarity/matrix", json={"a": words, "b": words})
    assert_over_budget(refused, "response size", MAX_RESPONSE_BYTES)
    served = await api.post(f"{RANDOM}/similarity/matrix", json={"a": words[:100], "b": words})
    assert served.status_code == 200 and len(served.json()["matrix"]) == 100


async def test_the_new_problems_are_in_the_catalogue_and_the_spec(api: httpx.AsyncClient) -> None:
    types = {row["type"]: row["status"] for row in problem_catalogue()}
    assert types["/problems/over-budget"] == 422
    assert types["/problems/too-many-requests"] == 429
    assert types["/problems/deadline-exceeded"] == 503
    spec = (await api.get("/openapi.json")).json()
    evaluate = spec["paths"]["/v1/models/{model}/evaluate"]["post"]["responses"]
    assert "429" in evaluate and "503" in evaluate
    assert "100,000 neighbours" in spec["info"]["description"]
