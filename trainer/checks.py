"""Checks shared by the trainers: hyperparameters, one clear ConfigurationError before any work
(NaN and Inf included, which plain comparisons let through); and after training, that the vectors
moved from their random start at all (a useless step size trains nothing and must not pass)."""

from __future__ import annotations

import math

import numpy as np

from firth_core.errors import ConfigurationError, TrainingDiverged, TrainingStalled

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


SAMPLED_ROWS = 256  # rows compared before and after training
STILL = 1e-6  # a largest change below this fraction of the largest start value is no change


class MovementProbe:
    """A copy of a few evenly spaced rows of a matrix at the start of training, to tell afterwards
    whether training changed anything. `movable` limits the sample to the rows training may change
    (fine-tuning with --lock-old keeps the parent's rows fixed)."""

    def __init__(self, matrix: np.ndarray, n_rows: int, movable: np.ndarray | None = None) -> None:
        candidates = np.arange(n_rows, dtype=np.int64) if movable is None else np.asarray(movable, np.int64)
        n = candidates.shape[0]
        picks = np.unique(np.linspace(0, max(n - 1, 0), min(n, SAMPLED_ROWS)).astype(np.int64))
        self.rows = candidates[picks] if n else candidates
        self.before = np.array(matrix[self.rows], dtype=np.float64)

    def require_moved(self, matrix: np.ndarray, what: str, hint: str) -> None:
        """Raise TrainingStalled when no sampled row changed by more than STILL of the start scale."""
        if self.rows.shape[0] == 0:
            return  # nothing may move
        change = float(np.abs(np.asarray(matrix[self.rows], dtype=np.float64) - self.before).max())
        scale = float(np.abs(self.before).max())
        if not change > STILL * scale:  # also catches NaN
            raise TrainingStalled(
                f"{what}: the vectors never moved from their random start (largest change {change:.3g}); "
                f"no model was written ({hint})"
            )


def require_sgd_trained(
    what: str,
    alpha: float,
    probe: MovementProbe,
    probed: np.ndarray,
    *matrices: np.ndarray,
    diverged: str | None = None,
) -> None:
    """After an SGD run (word2vec, fastText, the classifier): every matrix finite (a too large
    --alpha overflows), then the probed one moved (a too small one trains nothing). `diverged`
    names the run in the overflow message (default: what)."""
    if not all(np.isfinite(m).all() for m in matrices):
        raise TrainingDiverged(
            f"{diverged or what} diverged: the vectors overflowed to NaN or Inf; "
            f"no model was written (try a smaller --alpha than {alpha:g})"
        )
    probe.require_moved(probed, what, f"--alpha {alpha:g} is too small to train")
