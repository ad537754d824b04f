"""`firth-serve` / `python -m service`: serve the configured models with uvicorn.

Flags override the FIRTH_* environment variables. Models are loaded before the port is bound, so
a bad model directory ends the program with one clear line, not a traceback (service/workers.py).
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

    from service.metrics import clear_multiprocess_dir
    from service.workers import ServeOptions, serve

    clear_multiprocess_dir()
    options = ServeOptions(args.host, args.port, args.workers, args.log_level, log_config)
    return serve(settings, options)


if __name__ == "__main__":
    sys.exit(main())
