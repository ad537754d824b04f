"""Every client method, sync and async, against the real app; answers checked by the oracle."""

from __future__ import annotations

import pytest

from firth_client import AsyncFirthClient, FirthClient
from tests.client.cases import CASES, Case


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_sync_method(client: FirthClient, case: Case) -> None:
    client.model = case.model
    case.check(getattr(client, case.method)(*case.args, **case.kwargs))


@pytest.mark.anyio
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_async_method(aclient: AsyncFirthClient, case: Case) -> None:
    aclient.model = case.model
    case.check(await getattr(aclient, case.method)(*case.args, **case.kwargs))


def test_a_word_with_a_slash_is_sent_in_a_body(client: FirthClient) -> None:
    """GET /vectors/{word} cannot carry "a/b" (servers decode %2F before routing): the client
    asks POST /vectors instead, so the answer is about the word, not a missing route."""
    from firth_client import UnknownWordError

    with pytest.raises(UnknownWordError) as caught:
        client.vector("frog/toad")
    assert caught.value.word == "frog/toad"
    assert client.vector("KING").tolist() == client.vectors(["king"]).array[0].tolist()


def test_clients_share_one_pool_and_close_it(client: FirthClient) -> None:
    pool = client._http
    client.health()
    client.models()
    assert client._http is pool and not pool.is_closed
    client.close()
    assert pool.is_closed
