"""Write the OpenAPI document exactly as the service serves it (`make openapi`)."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from firth_service.app import create_app
from firth_service.settings import Settings


def openapi_document() -> dict[str, Any]:
    return create_app(Settings()).openapi()


def render() -> str:
    return json.dumps(openapi_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> int:
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "openapi/openapi.json")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=target.parent, delete=False, encoding="utf-8") as handle:
        handle.write(render())
    os.replace(handle.name, target)
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
