"""Logging: one JSON object a line (or plain text for a terminal), the request id on every record
logged while a request is being served.

`logging_config()` is a `logging.config.dictConfig` dict; `python -m firth_service` applies it and also
hands it to uvicorn, which re-applies it in every worker process (logging is not inherited).
"""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar
from typing import Any

import orjson
from uvicorn.logging import TRACE_LOG_LEVEL

# Set by the observability middleware for the duration of a request. Context variables follow
# the request into `run_in_threadpool`, so engine and error logs carry the id too.
request_id_var: ContextVar[str | None] = ContextVar("firth_request_id", default=None)

# Extra fields a record may carry (`log.info(..., extra={...})`). A closed list: anything else a
# caller passes is dropped, so a stray `extra={"body": ...}` cannot leak into the log.
EXTRA_FIELDS = (
    "request_id",
    "method",
    "route",
    "status",
    "duration_ms",
    "model",
    "worker",  # the supervisor's lines about a worker: its slot, pid, and how it ended
    "pid",
    "signal",
    "exit_status",
)


class JsonFormatter(logging.Formatter):
    """ts, level, logger, msg, then the known extra fields; exceptions as one `exc` string."""

    # (second, "YYYY-MM-DDTHH:MM:SS") of the last record: formatting the date is most of the cost
    # of a log line, and at thousands of lines a second it rarely changes. One tuple, swapped whole.
    _second: tuple[int, str] = (-1, "")

    def _timestamp(self, created: float) -> str:
        second = int(created)
        cached = self._second
        if cached[0] != second:
            cached = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
            self._second = cached
        return f"{cached[1]}.{int((created - second) * 1000):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": self._timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name in EXTRA_FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                out[name] = value
        if "request_id" not in out:
            request_id = request_id_var.get()
            if request_id is not None:
                out["request_id"] = request_id
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


class TextFormatter(logging.Formatter):
    """For a developer's terminal (FIRTH_LOG_JSON=0): the same fields, readable."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = [f"{n}={record.__dict__[n]}" for n in EXTRA_FIELDS if record.__dict__.get(n) is not None]
        request_id = request_id_var.get()
        if request_id is not None and "request_id" not in record.__dict__:
            extras.insert(0, f"request_id={request_id}")
        return f"{line} {' '.join(extras)}" if extras else line


def logging_config(level: str = "info", json: bool = True) -> dict[str, Any]:
    """Root and uvicorn's loggers -> one stderr handler with our formatter."""
    formatter = (
        "firth_service.logging_setup.JsonFormatter" if json else "firth_service.logging_setup.TextFormatter"
    )
    level = level.upper()
    # uvicorn's own level: dictConfig refuses "TRACE" until uvicorn.config has been imported
    logging.addLevelName(TRACE_LOG_LEVEL, "TRACE")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"firth": {"()": formatter}},
        "filters": {"drain_cuts": {"()": "firth_service.drain_cuts.DropDrainCutReports"}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "firth", "stream": "ext://sys.stderr"}
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            # uvicorn's loggers propagate to the root handler instead of their own coloured ones.
            "uvicorn": {"handlers": [], "level": level, "propagate": True},
            # its traceback of a request cut by the drain: logged as one line (service/drain_cuts.py)
            "uvicorn.error": {"handlers": [], "level": level, "propagate": True, "filters": ["drain_cuts"]},
            # Access lines come from our middleware (route template, request id); uvicorn's would
            # log the raw URL, whose query string holds the user's words.
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "faiss": {"level": "WARNING"},  # which SIMD build it loads, six lines per process
        },
    }
