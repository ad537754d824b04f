"""A progress bar for long work: tqdm on a terminal, silent otherwise or with --quiet."""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm


class Progress:
    """Counts units of work (words, co-occurrence records) and shows rate, ETA and extra fields."""

    def __init__(self, total: int, desc: str, unit: str = "word", quiet: bool = False) -> None:
        self.enabled = not quiet and sys.stderr.isatty()
        self._bar = tqdm(
            total=total,
            desc=desc,
            unit=unit,
            unit_scale=True,
            disable=not self.enabled,
            dynamic_ncols=True,
            smoothing=0.05,
            file=sys.stderr,
        )

    def update(self, done: int, **fields: Any) -> None:
        """Set the absolute amount done and the fields shown after the bar (loss, lr ...)."""
        if not self.enabled:
            return
        self._bar.update(max(0, done - self._bar.n))
        if fields:
            self._bar.set_postfix(fields, refresh=False)

    def close(self) -> None:
        self._bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def note(message: str, quiet: bool = False) -> None:
    """One line of status on stderr (stage names, summaries) unless quiet."""
    if not quiet:
        print(message, file=sys.stderr, flush=True)
