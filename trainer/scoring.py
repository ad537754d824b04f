"""Intrinsic evaluation of trained vectors through firth_core.evaluation (gensim's accounting)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from firth_core.errors import FirthError
from firth_core.keyed_vectors import KeyedVectors

BENCHMARK_NAMES = ("questions-words", "wordsim353", "simlex999")


def evaluate_all(kv: KeyedVectors, names: Sequence[str] = BENCHMARK_NAMES, **options: Any) -> dict[str, Any]:
    """Every benchmark's result; one that cannot be scored on this vocabulary (a small model may
    know too few of its words) is recorded with its reason instead of failing the whole run."""
    from firth_core.evaluation import evaluate_benchmark

    results: dict[str, Any] = {}
    for name in names:
        try:
            results[name] = evaluate_benchmark(kv, name, **options)
        except FirthError as exc:
            results[name] = {"benchmark": name, "error": str(exc)}
    return results


def summary(name: str, result: dict[str, Any]) -> str:
    """One line a benchmark: accuracy for analogies, Spearman / Pearson for word pairs."""
    if "error" in result:
        return f"{name}: not scored ({result['error']})"
    if result.get("kind") == "analogies":
        answered = result["correct"] + result["incorrect"]
        return (
            f"{name}: accuracy {result['score']:.4f} ({result['correct']} of {answered} answered, "
            f"{result['oov']} of {result['questions']} skipped as out of vocabulary)"
        )
    return (
        f"{name}: Spearman {result['spearman']:.4f}, Pearson {result['pearson']:.4f} "
        f"({result['pairs']} pairs, {result['oov_ratio']:.1f}% out of vocabulary)"
    )
