"""A typed Python client for the firth word-embedding service (sync and async, over httpx).

    from firth_client import FirthClient
    with FirthClient("http://127.0.0.1:8000") as firth:
        firth.most_similar(positive=["king", "woman"], negative=["man"], topn=1)

Only httpx and numpy are needed: the client never imports the service.
"""

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
from firth_client.results import (
    AnalogyResult,
    Evaluation,
    Health,
    ModelInfo,
    Neighbor,
    NeighborQuery,
    ProblemType,
    ProjectedPoint,
    Projection,
    Readiness,
    Similarity,
    Vectors,
)

__all__ = [
    "AnalogyResult",
    "AsyncFirthClient",
    "Evaluation",
    "FirthAPIError",
    "FirthClient",
    "ForbiddenError",
    "Health",
    "ModelInfo",
    "Neighbor",
    "NeighborQuery",
    "PayloadTooLargeError",
    "ProblemType",
    "ProjectedPoint",
    "Projection",
    "RateLimitedError",
    "Readiness",
    "RetryPolicy",
    "RetryableError",
    "ServiceUnavailableError",
    "Similarity",
    "UnauthorizedError",
    "UnexpectedResponseError",
    "UnknownModelError",
    "UnknownWordError",
    "ValidationError",
    "Vectors",
    "__version__",
]
