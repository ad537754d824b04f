"""A trained text classifier: the labels of a text, with probabilities (fastText's predict).

A classifier model is a model directory whose word matrix (vectors.npy) is the input embedding,
plus `output.npy` (one row a label), `word_ngrams.npy` (the hashed word n-gram rows, when trained
with word n-grams > 1) and meta.json's `classifier` record (labels, loss, word_ngrams, bucket).
A text's vector is the mean of its rows (firth_core/labelled_text.py); its label scores are the
output rows' dot products with it, turned into probabilities by a softmax (loss softmax) or one
sigmoid a label (loss ova, where each label is a yes/no question of its own), or the Huffman
tree's path products (loss hs, firth_core/label_tree.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from firth_core.artifact import OUTPUT_FILE, Artifact
from firth_core.errors import ArtifactError, NotAClassifier
from firth_core.label_tree import HuffmanTree, huffman_tree, leaf_probabilities
from firth_core.labelled_text import EOS, mean_rows, ngram_rows, split_labels, word_hashes
from firth_core.standardize import get_standardizer

WORD_NGRAMS_FILE = "word_ngrams.npy"
LOSSES = ("softmax", "ova", "hs")


@dataclass(frozen=True)
class Prediction:
    """One text's answer: its standardised tokens, the unknown ones, and the top labels."""

    tokens: list[str]
    oov: list[str]
    labels: list[tuple[str, float]]  # (label, probability), most probable first


@dataclass(frozen=True)
class TextRows:
    tokens: list[str]  # the text's standardised tokens, without the end-of-line token
    oov: list[str]
    rows: np.ndarray  # int64: known words, the end-of-line token, then the word n-grams


def describe_model(meta: Mapping[str, Any]) -> str:
    """What a model is, in a few words, for the error that says it is not a classifier."""
    algorithm = meta.get("algorithm")
    if isinstance(algorithm, dict) and algorithm.get("name"):
        return f"word vectors trained with {algorithm['name']}"
    source = meta.get("source")
    if isinstance(source, dict) and source.get("format"):
        return f"word vectors imported from a {source['format']} file"
    if source:
        return f"word vectors from {source}"
    return "word vectors"


@dataclass(frozen=True)
class Classifier:
    name: str
    labels: list[str]
    loss: str
    word_ngrams: int
    bucket: int
    standardize: str
    key_to_index: Mapping[str, int]
    words: Sequence[str]
    vectors: np.ndarray  # (n_words, dim) word rows
    output: np.ndarray  # (n_labels, dim)
    ngram_vectors: np.ndarray | None  # (bucket, dim) or None
    tree: HuffmanTree | None = None  # loss hs: the label tree (output rows 0 ... labels-2 its inner nodes)

    @classmethod
    def from_artifact(cls, artifact: Artifact, key_to_index: Mapping[str, int] | None = None) -> Classifier:
        record = artifact.meta.get("classifier")
        if not isinstance(record, dict):
            raise NotAClassifier(artifact.name, describe_model(artifact.meta))
        where = artifact.path / "meta.json"
        try:
            labels = [str(x) for x in record["labels"]]
            loss, word_ngrams, bucket = str(record["loss"]), int(record["word_ngrams"]), int(record["bucket"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(f"{where}: field 'classifier' is unusable ({exc})") from None
        output = artifact.output
        if output is None or output.shape[0] != len(labels) or not labels:
            raise ArtifactError(
                f"{artifact.path / OUTPUT_FILE}: missing or not one row for each of the labels"
            )
        if loss not in LOSSES or word_ngrams < 1:
            raise ArtifactError(f"{where}: classifier loss {loss!r} / word_ngrams {word_ngrams} unknown")
        tree = None
        if loss == "hs":
            try:
                tree = huffman_tree([int(c) for c in record["label_counts"]])
            except (KeyError, TypeError, ValueError) as exc:
                raise ArtifactError(
                    f"{where}: hs needs the label counts in descending order ({exc})"
                ) from None
        ngrams = artifact.extras.get(WORD_NGRAMS_FILE)
        if word_ngrams > 1 and (ngrams is None or ngrams.shape[0] != bucket or bucket < 1):
            raise ArtifactError(f"{artifact.path / WORD_NGRAMS_FILE}: missing, or not {bucket} rows")
        if EOS not in (key_to_index or {w: 0 for w in artifact.words}):
            raise ArtifactError(f"{artifact.path / 'vocab.txt'}: no {EOS} row (the end-of-line token)")
        return cls(
            name=artifact.name,
            labels=labels,
            loss=loss,
            word_ngrams=word_ngrams,
            bucket=bucket,
            standardize=artifact.standardize,
            key_to_index=key_to_index or {w: i for i, w in enumerate(artifact.words)},
            words=artifact.words,
            # np.asarray: still the memory map's pages, but indexed as a plain array (no memmap
            # subclass bookkeeping on every lookup)
            vectors=np.asarray(artifact.vectors),
            output=np.asarray(output, dtype=np.float32),
            ngram_vectors=np.asarray(ngrams) if ngrams is not None and word_ngrams > 1 else None,
            tree=tree,
        )

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    @cached_property
    def _word_hash(self) -> np.ndarray:
        return word_hashes(self.words)

    def text_rows(self, text: str) -> TextRows:
        """Label tokens dropped (never words), standardised, split; the end-of-line token added."""
        _, words = split_labels(text)
        return self.token_rows(get_standardizer(self.standardize)(words).split())

    def token_rows(self, tokens: list[str]) -> TextRows:
        """The rows of a text already standardised and split."""
        get = self.key_to_index.get
        eos = self.key_to_index[EOS]
        known = np.fromiter((get(t, -1) for t in tokens), dtype=np.int64, count=len(tokens))
        missing = known < 0
        unknown = [t for t, m in zip(tokens, missing.tolist(), strict=True) if m] if missing.any() else []
        ids = np.append(known[~missing] if unknown else known, eos)
        if self.word_ngrams > 1:
            hashes = np.empty(len(tokens) + 1, dtype=np.int32)
            hashes[:-1] = self._word_hash[known]  # an unknown word's -1 picks a row, replaced next
            if unknown:
                hashes[:-1][missing] = word_hashes(unknown)
            hashes[-1] = self._word_hash[eos]
            ids = np.concatenate([ids, ngram_rows(hashes, self.word_ngrams, self.bucket, len(self.words))])
        return TextRows(tokens, list(dict.fromkeys(unknown)), ids)

    def hidden(self, parsed: Sequence[TextRows]) -> np.ndarray:
        """(texts, dim): the mean of each text's rows, in float32 as the trainer computes it."""
        offsets = np.zeros(len(parsed) + 1, dtype=np.int64)
        np.cumsum([p.rows.shape[0] for p in parsed], out=offsets[1:])
        rows = np.concatenate([p.rows for p in parsed]) if parsed else np.zeros(0, dtype=np.int64)
        grams = self.ngram_vectors if self.ngram_vectors is not None else np.zeros((1, self.dim), np.float32)
        return mean_rows(self.vectors, grams, rows, offsets)

    def probabilities(self, hidden: np.ndarray) -> np.ndarray:
        """(texts, labels) probabilities of the texts' hidden vectors (texts, dim)."""
        scores = hidden.astype(np.float64) @ self.output.T.astype(np.float64)
        if self.tree is not None:  # hs: the product of the decisions on each label's path
            return leaf_probabilities(self.tree, scores[:, : len(self.labels) - 1])
        if self.loss == "ova":
            return 1.0 / (1.0 + np.exp(-scores))
        scores -= scores.max(axis=1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=1, keepdims=True)
        return scores

    def predict(self, texts: Sequence[str], k: int = 1, threshold: float = 0.0) -> list[Prediction]:
        """Each text's k most probable labels with probability >= threshold (fastText's predict)."""
        return self.predict_rows([self.text_rows(t) for t in texts], k, threshold)

    def predict_rows(
        self, parsed: Sequence[TextRows], k: int = 1, threshold: float = 0.0
    ) -> list[Prediction]:
        if not parsed:
            return []
        probs = self.probabilities(self.hidden(parsed))
        k = max(1, min(k, len(self.labels)))
        top = np.argsort(-probs, axis=1, kind="stable")[:, :k]
        out = []
        for p, order, row in zip(parsed, top, probs, strict=True):
            labels = [(self.labels[j], float(row[j])) for j in order.tolist() if row[j] >= threshold]
            out.append(Prediction(p.tokens, p.oov, labels))
        return out
