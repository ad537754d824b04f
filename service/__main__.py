"""`firth-serve` / `python -m service`: serve the configured models with uvicorn.

Flags override the FIRTH_* environment variables. With one worker the models are loaded before
uvicorn starts, so a bad model directory ends the program with one clear line, not a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import logging.config
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from firth_core.errors import FirthError
from service.logging_setup import logging_config
from service.settings import Settings


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="firth-serve", description="Serve word-embedding models over HTTP.")
    parser.add_argument("--host", default=os.environ.get("FIRTH_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("FIRTH_PORT", "8000")))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("FIRTH_WORKERS", "1")))
    parser.add_argument("--models-dir", type=Path, help="directory of model directories (FIRTH_MODELS_DIR)")
    parser.add_argument(
        "--model", action="append", help="a model to serve; repeat for several (FIRTH_MODELS)"
    )
    parser.add_argument("--default-model", help="the model `default` names (FIRTH_DEFAULT_MODEL)")
    parser.add_argument("--index", choices=["hnsw", "exact"], help="index kind (FIRTH_INDEX)")
    parser.add_argument("--log-level", default=os.environ.get("FIRTH_LOG_LEVEL", "info"))
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = Settings.from_env()
    except ValueError as exc:
        print(f"firth-serve: error: {exc}", file=sys.stderr)
        return 2
    overrides = {
        "models_dir": args.models_dir,
        "models": args.model,
        "default_model": args.default_model,
        "index": args.index,
    }
    settings = dataclasses.replace(settings, **{k: v for k, v in overrides.items() if v is not None})
    log_config = logging_config(args.log_level, json=settings.log_json)  # uvicorn re-applies it per worker
    logging.config.dictConfig(log_config)

    from service.app import create_app
    from service.metrics import clear_multiprocess_dir
    from service.registry import load_registry

    clear_multiprocess_dir()

    if args.workers > 1:
        # Each worker loads the models; settings travel through the environment.
        os.environ.update(
            FIRTH_MODELS_DIR=str(settings.models_dir),
            FIRTH_MODELS=",".join(settings.models),
            FIRTH_DEFAULT_MODEL=settings.default_model,
            FIRTH_INDEX=settings.index,
        )
        uvicorn.run(
            "service.app:app_from_env",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level=args.log_level,
            access_log=False,
            log_config=log_config,
        )
        return 0
    try:
        registry = load_registry(settings)
    except FirthError as exc:
        print(f"firth-serve: error: {exc}", file=sys.stderr)
        return 2
    app = create_app(settings, registry)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=False,
        log_config=log_config,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
