"""Every client method, sync and async, against the real app; answers checked by the oracle."""

from __future__ import annotations

import numpy as np
import pytest

from firth_client import AsyncFirthClient, FirthClient, UnknownWordError
from tests.client.cases import CASES, Case
from tests.client.conftest import SyncASGITransport


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_sync_method(client: FirthClient, case: Case) -> None:
    client.model = case.model
    case.check(getattr(client, case.method)(*case.args, **case.kwargs))


@pytest.mark.anyio
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_async_method(aclient: AsyncFirthClient, case: Case) -> None:
    aclient.model = case.model
    case.check(await getattr(aclient, case.method)(*case.args, **case.kwargs))


def test_words_that_are_awkward_in_a_path(client: FirthClient, sync_transport: SyncASGITransport) -> None:
    """A word with "/" or "?" travels percent-encoded in GET /vectors/{word}; "." and ".." (which
    URLs drop as dot segments) go in a POST body. Either way the answer is about the word."""
    for word in ("frog/toad", "cat?dog", "50%", ".", ".."):
        with pytest.raises(UnknownWordError) as caught:
            client.vector(word)
        assert caught.value.word == word
    assert [m for m, _ in sync_transport.sent] == ["GET", "GET", "GET", "POST", "POST"]
    np.testing.assert_array_equal(client.vector("KING"), client.vectors(["king"]).array[0])


def test_clients_share_one_pool_and_close_it(client: FirthClient) -> None:
    pool = client._http
    client.health()
    client.models()
    assert client._http is pool and not pool.is_closed
    client.close()
    assert pool.is_closed
