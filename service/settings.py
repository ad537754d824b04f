"""Service settings: read once from the environment (or flags) by `create_app`, never at import."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

IndexKind = Literal["hnsw", "exact"]

# Request limits, declared in the OpenAPI schema through the request models.
MAX_K = 1000  # neighbours a query may ask for; gensim users rarely go past a few hundred
MAX_BATCH = 1000  # words, pairs or queries in one request
MAX_TERMS = 100  # positive + negative terms in one neighbours query
MAX_WORD_CHARS = 256  # longer "words" are not words; keeps error messages and logs bounded
MAX_EVAL_ITEMS = 50_000  # uploaded evaluation lines (questions-words has 19,544)
MAX_RESTRICT_VOCAB = 2**31 - 1  # faiss ids are 64-bit, JSON clients are not: keep it a plain int32
MAX_BODY_BYTES = 8 * 1024 * 1024  # 8 MiB: an uploaded evaluation set fits, a runaway client does not


def _env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


@dataclass(frozen=True)
class Settings:
    """Where the models are, which to serve, and how to index them."""

    models_dir: Path = Path("models")
    # Model directory names (under models_dir) or paths; empty = every model in models_dir.
    models: list[str] = field(default_factory=list)
    # The model `default` names; empty = the first configured model.
    default_model: str = ""
    index: IndexKind = "hnsw"
    # HNSW: M=32/efConstruction=100 reach recall@10 >= 0.99 at efSearch 64 on GloVe 6B 50d
    # (../shared/bench/README.md); efSearch is a per-query cost knob, M/efConstruction are build-time.
    hnsw_m: int = 32
    hnsw_ef_construction: int = 100
    hnsw_ef_search: int = 64
    # Where built indexes are saved; empty = an `index/` folder inside each model directory.
    index_dir: Path | None = None
    build_hnsw: bool = True  # build the HNSW index in the background when none is saved
    verify_checksums: bool = True
    log_json: bool = True

    @classmethod
    def from_env(cls) -> Settings:
        index_dir = os.environ.get("FIRTH_INDEX_DIR")
        index = os.environ.get("FIRTH_INDEX", "hnsw")
        if index not in ("hnsw", "exact"):
            raise ValueError(f"FIRTH_INDEX must be 'hnsw' or 'exact', not {index!r}")
        return cls(
            models_dir=Path(os.environ.get("FIRTH_MODELS_DIR", "models")),
            models=_env_list("FIRTH_MODELS"),
            default_model=os.environ.get("FIRTH_DEFAULT_MODEL", ""),
            index=index,  # type: ignore[arg-type]
            hnsw_m=int(os.environ.get("FIRTH_HNSW_M", "32")),
            hnsw_ef_construction=int(os.environ.get("FIRTH_HNSW_EF_CONSTRUCTION", "100")),
            hnsw_ef_search=int(os.environ.get("FIRTH_HNSW_EF_SEARCH", "64")),
            index_dir=Path(index_dir) if index_dir else None,
            build_hnsw=os.environ.get("FIRTH_BUILD_HNSW", "1") not in ("0", "false", "no"),
            verify_checksums=os.environ.get("FIRTH_VERIFY_CHECKSUMS", "1") not in ("0", "false", "no"),
            log_json=os.environ.get("FIRTH_LOG_JSON", "1") not in ("0", "false", "no"),
        )

    def model_paths(self) -> list[Path]:
        """Model directories to serve, in configured order."""
        if self.models:
            return [
                Path(m) if ("/" in m or Path(m).is_absolute()) else self.models_dir / m for m in self.models
            ]
        if not self.models_dir.is_dir():
            return []
        return sorted(p for p in self.models_dir.iterdir() if (p / "meta.json").is_file())
