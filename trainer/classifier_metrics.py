"""fastText's test figures (Meter): N, precision and recall at k, and each label's precision,
recall and F1 over the same predictions. Pure counting, no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


@dataclass
class LabelCounts:
    gold: int = 0  # examples carrying the label
    predicted: int = 0  # predictions of the label
    correct: int = 0  # predictions of the label the example carries

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.correct / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r > 0 else 0.0


@dataclass
class Meter:
    """Counts as fastText's Meter::log: precision = correct / predicted, recall = correct / gold."""

    examples: int = 0
    total: LabelCounts = field(default_factory=LabelCounts)
    labels: dict[str, LabelCounts] = field(default_factory=dict)

    def log(self, gold: Sequence[str], predicted: Iterable[str]) -> None:
        self.examples += 1
        self.total.gold += len(gold)
        for label in gold:
            self.labels.setdefault(label, LabelCounts()).gold += 1
        for label in predicted:
            counts = self.labels.setdefault(label, LabelCounts())
            counts.predicted += 1
            self.total.predicted += 1
            if label in gold:
                counts.correct += 1
                self.total.correct += 1

    def as_meta(self, k: int) -> dict[str, object]:
        return {
            "examples": self.examples,
            f"precision_at_{k}": self.total.precision,
            f"recall_at_{k}": self.total.recall,
            "labels": {
                name: {"precision": c.precision, "recall": c.recall, "f1": c.f1, "gold": c.gold}
                for name, c in self.labels.items()
            },
        }
