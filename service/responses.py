"""A JSON response rendered by orjson (numpy arrays and float32 included), used by every route.

Routes return this directly, so FastAPI skips re-validating the body through pydantic: the
response models still document the shape in OpenAPI, and tests check the bodies against them.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse


class FastJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)
