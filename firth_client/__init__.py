"""A typed Python client for the firth word-embedding service (sync and async, over httpx).

    from firth_client import FirthClient
    with FirthClient("http://127.0.0.1:8000") as firth:
        firth.most_similar(positive=["king", "woman"], negative=["man"], topn=1)

Only httpx and numpy are needed: the client never imports the service.
"""

from firth_client import results
from firth_client._async import AsyncFirthClient
from firth_client._base import __version__
from firth_client._retry import RetryPolicy
from firth_client._sync import FirthClient
from firth_client.errors import (
    FirthAPIError,
    ForbiddenError,
    PayloadTooLargeError,
    RateLimitedError,
    RetryableError,
    ServiceUnavailableError,
    UnauthorizedError,
    UnexpectedResponseError,
    UnknownModelError,
    UnknownWordError,
    ValidationError,
)
from firth_client.results import *  # noqa: F403  (the result types: results.__all__)

__all__ = [
    "AsyncFirthClient",
    "FirthAPIError",
    "FirthClient",
    "ForbiddenError",
    "PayloadTooLargeError",
    "RateLimitedError",
    "RetryPolicy",
    "RetryableError",
    "ServiceUnavailableError",
    "UnauthorizedError",
    "UnexpectedResponseError",
    "UnknownModelError",
    "UnknownWordError",
    "ValidationError",
    "__version__",
]
__all__ += results.__all__
