"""Hyperparameter checks shared by the trainers: one clear ConfigurationError before any work
(NaN and Inf included, which plain comparisons let through)."""

from __future__ import annotations

import math

from firth_core.errors import ConfigurationError

MAX_SEED = 2**32 - 1  # seeds feed numba kernels as fixed-width integers


def _flag(name: str) -> str:
    return name.replace("_", "-")


def require_positive(name: str, value: float) -> None:
    if not math.isfinite(value):
        raise ConfigurationError(f"{_flag(name)} must be a finite number > 0, got {value}")
    if value <= 0:
        raise ConfigurationError(f"{_flag(name)} must be > 0, got {value}")


def require_non_negative(name: str, value: float) -> None:
    if not math.isfinite(value):
        raise ConfigurationError(f"{_flag(name)} must be a finite number >= 0, got {value}")
    if value < 0:
        raise ConfigurationError(f"{_flag(name)} must be >= 0, got {value}")


def require_threads_and_seed(threads: int, seed: int) -> None:
    if threads < 0:
        raise ConfigurationError(f"threads must be >= 0 (0: every core), got {threads}")
    if not 0 <= seed <= MAX_SEED:
        raise ConfigurationError(f"seed must be between 0 and {MAX_SEED}, got {seed}")
