"""`firth-serve` / `python -m firth_service`: serve the configured models with uvicorn.

The flags and the FIRTH_* environment are one settings object (service/settings.py); a flag wins.
Models are loaded before the port is bound, so a bad model directory ends the program with one
clear line, not a traceback (service/workers.py).
"""

from __future__ import annotations

import logging.config
import signal
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from firth_service.heap import tune_malloc
from firth_service.logging_setup import logging_config
from firth_service.settings import Settings, describe_error


def main(argv: Sequence[str] | None = None) -> int:
    # a SIGHUP during the start (imports, loading the models) would end the process: kept here,
    # served as a reload before the workers fork (supervisor.serve)
    held: list[int] = []
    signal.signal(signal.SIGHUP, lambda signum, frame: held.append(signum))
    tune_malloc()  # before any thread allocates (service/heap.py)
    try:
        settings = Settings.from_cli(argv)
    except ValidationError as exc:
        print(f"firth-serve: error: {describe_error(exc)}", file=sys.stderr)
        return 2
    log_config = logging_config(
        settings.log_level, json=settings.log_json
    )  # uvicorn re-applies it per worker
    logging.config.dictConfig(log_config)

    from firth_service.auth import AccessKeys, KeyFileError

    try:  # read here once so a bad keys file ends the start with one line (each worker reads it too)
        access = AccessKeys.from_settings(settings)
    except KeyFileError as exc:
        print(f"firth-serve: error: {exc}", file=sys.stderr)
        return 2

    from firth_service.metrics import clear_multiprocess_dir
    from firth_service.supervisor import serve

    clear_multiprocess_dir()
    return serve(settings, held, announce=lambda: logging.getLogger("firth.auth").info(access.describe()))


if __name__ == "__main__":
    sys.exit(main())
