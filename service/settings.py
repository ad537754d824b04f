"""Service settings: one class, read from the FIRTH_* environment and `firth-serve`'s flags.

Every field of `Settings` is both an environment variable (`FIRTH_` + the field name in capitals)
and a flag (`--` + the field name in kebab case); pydantic-settings generates the flags, their
`--help` text and defaults from the fields. A flag wins over the environment, the environment over
the field's default. Nothing is read at import: `Settings()` reads the environment when called,
`Settings.from_cli(argv)` the environment and the flags. A new setting is one more field here,
with a description (its --help line), and a row in README's Configuration table (a test checks).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, CliSettingsSource, NoDecode, SettingsConfigDict

IndexKind = Literal["hnsw", "exact"]
LogLevel = Literal["critical", "error", "warning", "info", "debug", "trace"]  # uvicorn's names

# Request limits, declared in the OpenAPI schema through the request models.
MAX_K = 1000  # neighbours a query may ask for; gensim users rarely go past a few hundred
MAX_BATCH = 1000  # words, pairs or queries in one request
MAX_TERMS = 100  # positive + negative terms in one neighbours query
MAX_WORD_CHARS = 256  # longer "words" are not words; keeps error messages and logs bounded
MAX_EVAL_ITEMS = 50_000  # uploaded evaluation lines (questions-words has 19,544)
MAX_RESTRICT_VOCAB = 2**31 - 1  # faiss ids are 64-bit, JSON clients are not: keep it a plain int32
MAX_TEXTS = 1000  # texts in one /embed request (or pairs, or texts on one side of a matrix)
MAX_TEXT_CHARS = 100_000  # characters in one text: a long article, not a book
MAX_BODY_BYTES = 8 * 1024 * 1024  # 8 MiB: an uploaded evaluation set fits, a runaway client does not
# The cost budget of one request (service/budget.py): each field above is bounded, these bound
# their products.
MAX_NEIGHBOURS = 100_000  # batch x k neighbours in one answer
MAX_RESPONSE_BYTES = 16 * 1024 * 1024  # an answer's estimated JSON size
MAX_SCRATCH_BYTES = 100 * 1024 * 1024  # temporary memory one request may use while computing

ENV_PREFIX = "FIRTH_"


def one_per_cpu() -> int:
    """The default worker count: one serving process per CPU this process may run on.

    `sched_getaffinity` honours `taskset` and a container's cpuset; a CPU quota (`docker --cpus`)
    is not visible here, so set FIRTH_WORKERS there."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1  # macOS has no affinity call


class Settings(BaseSettings):
    """Serve word-embedding models over HTTP. A flag overrides its [env: FIRTH_*] variable."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_ignore_empty=True,  # FIRTH_INDEX_DIR= means "not set", as it did before
        frozen=True,
        cli_prog_name="firth-serve",
        cli_kebab_case=True,  # models_dir -> --models-dir
        cli_implicit_flags=True,  # bool fields -> --build-hnsw / --no-build-hnsw
        cli_hide_none_type=True,
        cli_show_env_vars=True,
        cli_shortcuts={"models": "model"},  # --model NAME, repeated, as before
    )

    # -- where to listen, how many processes, how to log
    host: str = Field(default="127.0.0.1", description="address to listen on (0.0.0.0: every interface)")
    port: int = Field(default=8000, ge=1, le=65535, description="TCP port to listen on")
    workers: int = Field(
        default_factory=one_per_cpu,
        ge=1,
        description="serving processes, forked after the models are loaded, each with its own "
        "SO_REUSEPORT socket; default one per CPU available to the process",
    )
    drain_seconds: float = Field(
        default=20,
        ge=0,
        description="on SIGTERM, /readyz answers 503 and requests in flight get this long to finish "
        "before they are cut; keep it under the platform's stop timeout (Docker: stop_grace_period)",
    )
    log_level: LogLevel = Field(default="info", description="lowest level logged")
    log_json: bool = Field(default=True, description="one JSON object a line on stderr; off: readable text")

    # -- which models
    models_dir: Path = Field(default=Path("models"), description="directory of model directories")
    models: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="models to serve, in order: names under models-dir or paths; repeat the flag "
        "or separate with commas; empty: every model in models-dir",
    )
    default_model: str = Field(default="", description="the model `default` names; empty: the first model")

    # -- how to index them. HNSW M=32/efConstruction=100 reach recall@10 >= 0.99 at efSearch 64 for
    # GloVe 6B 50d's frequent words; rarer words search further (service/index.py EF_SEARCH_BY_RANK).
    # efSearch is a per-query cost knob, the others build-time.
    index: IndexKind = Field(default="hnsw", description="hnsw (answered exactly until built) or exact only")
    hnsw_m: int = Field(default=32, ge=2, description="HNSW graph degree (build time)")
    hnsw_ef_construction: int = Field(default=100, ge=1, description="HNSW build beam width (build time)")
    hnsw_ef_search: int = Field(
        default=64,
        ge=1,
        description="HNSW search beam width for frequent words (rarer words search 3x or 6x as far)",
    )
    index_dir: Path | None = Field(
        default=None,
        description="where built HNSW indexes are saved (for read-only model volumes); "
        "unset: an index/ folder inside each model directory",
    )
    build_hnsw: bool = Field(
        default=True, description="build the HNSW index in the background when none is saved"
    )
    verify_checksums: bool = Field(default=True, description="check each model file's sha256 on loading")

    # -- admission and HTTP limits, per worker (service/admission.py, service/http_limits.py)
    max_concurrent_requests: int = Field(
        default=24,
        ge=1,
        description="requests in flight per worker; beyond it an immediate 429 with Retry-After",
    )
    max_concurrent_heavy: int = Field(
        default=2,
        ge=1,
        description="heavy requests (evaluate, t-SNE, batches) in flight per worker, within the above",
    )
    request_deadline_seconds: float = Field(
        default=30.0, gt=0, description="a request still computing after this long is stopped (503)"
    )
    header_timeout_seconds: float = Field(
        default=10.0, gt=0, description="a request's headers must arrive within this time, or it is closed"
    )
    body_timeout_seconds: float = Field(
        default=30.0, gt=0, description="a request's body must arrive within this time, or it is closed"
    )
    keep_alive_seconds: float = Field(
        default=5.0, gt=0, description="an idle keep-alive connection is closed after this long"
    )
    max_connections: int = Field(
        default=4096, ge=1, description="open connections per worker; more are answered 503 and closed"
    )
    max_header_bytes: int = Field(
        default=16 * 1024, ge=1024, description="total size of a request's header lines (431 beyond)"
    )
    max_header_count: int = Field(default=100, ge=1, description="header lines in one request (431 beyond)")

    # -- who may ask (service/auth.py). Keys come from files: never from flags or the environment,
    # where `ps` and `docker inspect` would show them.
    api_keys: Path | None = Field(
        default=None,
        description="file of API keys, one a line (blank lines and # comments ignored); requests then "
        "need Authorization: Bearer KEY; unset: no key needed",
    )
    admin_key: Path | None = Field(
        default=None,
        description="file holding the admin key, needed for /metrics and /admin/*; unset: /admin/* "
        "refused, /metrics guarded like the API",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="origins allowed to call the API from a browser (CORS), comma-separated, or *; "
        "empty: CORS off",
    )

    @field_validator("models", "cors_origins", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        """FIRTH_MODELS=a,b and --model a,b: comma-separated values (a list passes through)."""
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        if isinstance(value, list):
            return [item.strip() for v in value for item in str(v).split(",") if item.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        """A browser's Origin is scheme://host[:port], no path: a trailing / would never match."""
        origins = [origin.rstrip("/") if origin != "*" else origin for origin in value]
        for origin in origins:
            if origin != "*" and not re.fullmatch(r"https?://[^/\s]+", origin):
                raise ValueError(f"{origin!r} is not an origin (scheme://host[:port], or *)")
        return origins

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower_case(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @classmethod
    def from_cli(cls, argv: Sequence[str] | None = None) -> Settings:
        """The environment and `firth-serve`'s flags (sys.argv[1:] when argv is None). `--help`
        and a malformed flag exit as argparse does; a bad value raises pydantic's ValidationError."""
        args: list[str] | bool = True if argv is None else list(argv)
        source: CliSettingsSource[Settings] = CliSettingsSource(cls, cli_parse_args=args)
        return cls(_cli_settings_source=source)  # type: ignore[call-arg]  # pydantic-settings' own init option

    def model_paths(self) -> list[Path]:
        """Model directories to serve, in configured order."""
        if self.models:
            return [
                Path(m) if ("/" in m or Path(m).is_absolute()) else self.models_dir / m for m in self.models
            ]
        if not self.models_dir.is_dir():
            return []
        # hidden names are writers' temporaries (`.name.tmp-…`, `.name.old-…`), never models
        return sorted(
            p for p in self.models_dir.iterdir() if not p.name.startswith(".") and (p / "meta.json").is_file()
        )


def env_name(field: str) -> str:
    """FIRTH_MODELS_DIR for models_dir."""
    return ENV_PREFIX + field.upper()


def flag_name(field: str) -> str:
    """--models-dir for models_dir."""
    return "--" + field.replace("_", "-")


def describe_error(exc: ValidationError) -> str:
    """One line naming each bad setting by its flag and variable, without pydantic's URLs."""
    parts = []
    for error in exc.errors(include_url=False):
        field = str(error["loc"][0]) if error["loc"] else ""
        where = f"{flag_name(field)} / {env_name(field)}" if field in Settings.model_fields else field
        parts.append(f"{where}: {error['msg']} (got {error['input']!r})")
    return "; ".join(parts)
