"""The committed OpenAPI document is the one served; every operation has an example; limits are
declared; Swagger UI's assets come from the service itself (works with no internet)."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from firth_service.openapi_export import render
from firth_service.settings import MAX_BATCH, MAX_K, MAX_WORD_CHARS
from tests.conftest import REPO

SPEC_FILE = REPO / "openapi" / "openapi.json"


def live_spec() -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(render())
    return spec


def test_committed_spec_matches_the_served_one() -> None:
    assert SPEC_FILE.is_file(), "openapi/openapi.json is missing: run `make openapi`"
    assert json.loads(SPEC_FILE.read_text()) == live_spec(), "the API changed: run `make openapi` and commit"


def _has_example(op: dict[str, Any], schemas: dict[str, Any]) -> bool:
    def schema_has(schema: dict[str, Any]) -> bool:
        ref = schema.get("$ref")
        return bool(ref and "examples" in schemas[ref.rsplit("/", 1)[-1]]) or "examples" in schema

    if any(
        "examples" in p or "example" in p or schema_has(p.get("schema", {})) for p in op.get("parameters", [])
    ):
        return True
    for content in (op.get("requestBody", {}).get("content", {})).values():
        if "example" in content or "examples" in content or schema_has(content.get("schema", {})):
            return True
    ok = op.get("responses", {}).get("200", {}).get("content", {})
    return any("example" in c or "examples" in c or schema_has(c.get("schema", {})) for c in ok.values())


def test_every_operation_has_an_example() -> None:
    spec = live_spec()
    schemas = spec["components"]["schemas"]
    missing = [
        f"{method.upper()} {path}"
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if not _has_example(op, schemas)
    ]
    assert missing == []


def test_limits_are_declared_in_the_schema() -> None:
    spec = live_spec()
    params = {
        p["name"]: p["schema"] for p in spec["paths"]["/v1/models/{model}/neighbors"]["get"]["parameters"]
    }
    assert params["k"]["maximum"] == MAX_K and params["k"]["minimum"] == 1
    assert params["word"]["maxLength"] == MAX_WORD_CHARS
    vectors = spec["components"]["schemas"]["VectorsRequest"]["properties"]["words"]
    assert vectors["maxItems"] == MAX_BATCH
    errors = spec["paths"]["/v1/models/{model}/neighbors"]["get"]["responses"]
    assert {"404", "413", "422"} <= set(errors)
    assert "application/problem+json" in errors["404"]["content"]


pytestmark = pytest.mark.anyio


async def test_swagger_ui_assets_are_served_locally(api: httpx.AsyncClient) -> None:
    page = await api.get("/docs")
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets, "no assets found in the Swagger UI page"
    assert not [a for a in assets if a.startswith(("http:", "https:", "//"))], assets
    for asset in assets:
        response = await api.get(asset)
        assert response.status_code == 200, asset
        assert len(response.content) > 100
    script = next(a for a in assets if a.endswith("swagger-ui-bundle.js"))
    assert "SwaggerUIBundle" in (await api.get(script)).text
    assert "'/openapi.json'" in page.text or '"/openapi.json"' in page.text
    served = (await api.get("/openapi.json")).json()
    assert served["info"]["title"] == "firth"
