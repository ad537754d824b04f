"""fastText kernels: skip-gram and CBOW with negative sampling over subword inputs. Pure numba.

A word's input vector is the mean of its own row (`w_words`, gensim's `vectors_vocab`) and the
rows of its character n-grams (`w_ngrams`, `bucket` rows shared by all n-grams; which ones is the
CSR `offsets`/`rows` from firth_core/subwords.py:vocabulary_buckets). As in Facebook's fastText
(`Model::update`) and gensim (`fasttext_inner.pyx`), the error at that mean (-alpha * dLoss/dmean)
is added in full to every row that made it, not divided among them.

- skip-gram: the centre word's composed vector predicts each word of its window (fastText's and
  gensim's direction: the subwords are the centre's). The window is batched: the centre's vector
  is composed once, every context word is scored against it with its own fresh negatives, and the
  summed error is spread to the centre's rows once, where gensim composes and spreads once a pair.
  All scores are taken before any update, so the step is the exact gradient step of the window's
  summed loss (`sg_window_step`, checked by finite differences).
- CBOW: the hidden vector is the mean over every row of every context word (their own rows and all
  their n-gram rows together, as fastText and gensim average them), predicting the centre word;
  the error goes in full to each of those rows. Batched by sentence: each position's rows are
  summed once, and each position's errors from all its windows are spread once at the sentence's
  end (train_chunk_cbow), where gensim re-reads and re-writes them for every window.

Lock factors (gensim's `vectors_vocab_lockf` and `vectors_ngrams_lockf`): every update of a word's
own row is scaled by lock_words[word], every update of an n-gram row by lock_ngrams[row]; a
factor of 0 leaves the row untouched (fine-tuning's --lock-old), 1 adds the error exactly (a run
from scratch). Output rows always train.

Everything else is the word2vec kernels' (trainer/word2vec_kernels.py), imported from there: the
chunk contract (words read, kept, sampled loss, examples), subsampling, the shrinking window, the
alias-table negatives, the interpolated sigmoid and the per-chunk xorshift stream, so one thread
with one seed is bit-for-bit reproducible.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from firth_trainer.corpus import MAX_SENTENCE_TOKENS
from firth_trainer.word2vec_kernels import (
    LOSS_EVERY_MASK,
    _draw_targets,
    _gather_contexts,
    _log_loss,
    _read_sentence,
    _shrunk_window,
    sigmoid,
)


class FastTextConfig(NamedTuple):
    """What every chunk of one run shares (the fastText counterpart of word2vec's KernelConfig)."""

    stream: np.ndarray  # int32 ids, SENTENCE_END after every sentence
    w_words: np.ndarray  # (vocabulary, dim) float32: each word's own input row
    w_ngrams: np.ndarray  # (bucket, dim) float32: the n-gram rows
    w_out: np.ndarray  # (vocabulary, dim) float32 output vectors
    offsets: np.ndarray  # int64 (vocabulary + 1): word w's n-gram rows are rows[offsets[w]:offsets[w + 1]]
    rows: np.ndarray  # int32 bucket rows
    keep: np.ndarray  # subsampling thresholds (word2vec_kernels' contract)
    alias_thresh: np.ndarray  # negative sampling's alias table
    alias_idx: np.ndarray
    window: int
    negative: int
    lock_words: np.ndarray  # (vocabulary,) float32 factor on each own-row update (0: locked)
    lock_ngrams: np.ndarray  # (bucket,) float32 factor on each n-gram-row update (0: locked)


@numba.njit(inline="always", fastmath=True)
def _add_word(
    h: np.ndarray, w_words: np.ndarray, w_ngrams: np.ndarray, offsets: np.ndarray, rows: np.ndarray, word: int
) -> int:
    """h += the word's own row and each of its n-gram rows; returns how many rows were added."""
    dim = h.shape[0]
    for d in range(dim):
        h[d] += w_words[word, d]
    lo, hi = offsets[word], offsets[word + 1]
    for r in range(lo, hi):
        g = rows[r]
        for d in range(dim):
            h[d] += w_ngrams[g, d]
    return int(1 + hi - lo)


@numba.njit(inline="always", fastmath=True)
def _spread(
    work: np.ndarray,
    w_words: np.ndarray,
    w_ngrams: np.ndarray,
    offsets: np.ndarray,
    rows: np.ndarray,
    word: int,
    lock_words: np.ndarray,
    lock_ngrams: np.ndarray,
) -> None:
    """Add work, scaled by each row's lock factor, to the word's own row and to each of its
    n-gram rows (a repeated row twice); a row with factor 0 is not touched."""
    dim = work.shape[0]
    lock = lock_words[word]
    if lock != np.float32(0.0):
        for d in range(dim):
            w_words[word, d] += lock * work[d]
    for r in range(offsets[word], offsets[word + 1]):
        g = rows[r]
        lock = lock_ngrams[g]
        if lock == np.float32(0.0):
            continue
        for d in range(dim):
            w_ngrams[g, d] += lock * work[d]


@numba.njit(inline="always", fastmath=True)
def _output_layer(
    w_out: np.ndarray,
    h: np.ndarray,
    targets: np.ndarray,
    n_targets: np.ndarray,
    n_groups: int,
    alpha: float,
    grads: np.ndarray,
    work: np.ndarray,
    want_loss: bool,
) -> float:
    """Negative sampling for one hidden vector h against n_groups groups of targets: group m is
    targets[m, :n_targets[m]], its first the true word (label 1), the rest negatives. Every score is
    taken first, then work = -alpha * dLoss/dh is summed from the output rows as they were, then
    the output rows move; so this is the exact gradient step of the summed loss even when a row
    appears in several groups. Returns the loss before the step (0 unless wanted)."""
    dim = h.shape[0]
    loss = 0.0
    for m in range(n_groups):
        for k in range(n_targets[m]):
            t = targets[m, k]
            f = np.float32(0.0)
            for d in range(dim):
                f += h[d] * w_out[t, d]
            label = 1.0 if k == 0 else 0.0
            if want_loss:
                loss += _log_loss(f, label)
            grads[m, k] = np.float32((label - sigmoid(f)) * alpha)
    for d in range(dim):
        work[d] = np.float32(0.0)
    for m in range(n_groups):
        for k in range(n_targets[m]):
            t = targets[m, k]
            g = grads[m, k]
            for d in range(dim):
                work[d] += g * w_out[t, d]
    for m in range(n_groups):
        for k in range(n_targets[m]):
            t = targets[m, k]
            g = grads[m, k]
            for d in range(dim):
                w_out[t, d] += g * h[d]
    return loss


@numba.njit(inline="always", fastmath=True)
def _sg_window(
    w_words: np.ndarray,
    w_ngrams: np.ndarray,
    w_out: np.ndarray,
    offsets: np.ndarray,
    rows: np.ndarray,
    center: int,
    targets: np.ndarray,
    n_targets: np.ndarray,
    n_contexts: int,
    alpha: float,
    h: np.ndarray,
    work: np.ndarray,
    grads: np.ndarray,
    want_loss: bool,
    lock_words: np.ndarray,
    lock_ngrams: np.ndarray,
) -> float:
    """One skip-gram window: the centre's mean vector against each context's target group."""
    for d in range(h.shape[0]):
        h[d] = np.float32(0.0)
    count = _add_word(h, w_words, w_ngrams, offsets, rows, center)
    inv = np.float32(1.0 / count)
    for d in range(h.shape[0]):
        h[d] *= inv
    loss = _output_layer(w_out, h, targets, n_targets, n_contexts, alpha, grads, work, want_loss)
    _spread(work, w_words, w_ngrams, offsets, rows, center, lock_words, lock_ngrams)
    return loss


@numba.njit(inline="always", fastmath=True)
def _cbow_window(
    w_out: np.ndarray,
    sums: np.ndarray,
    sizes: np.ndarray,
    errors: np.ndarray,
    lo: int,
    hi: int,
    center: int,
    targets: np.ndarray,
    n_targets: np.ndarray,
    alpha: float,
    h: np.ndarray,
    work: np.ndarray,
    grads: np.ndarray,
    want_loss: bool,
) -> float:
    """One CBOW example from a sentence's composed sums: the context is positions lo..hi-1 but
    `center`; sums[j] holds position j's own row plus its n-gram rows (sizes[j] of them), so the
    hidden vector is the mean over every row of every context word (fastText's, gensim's). The
    error at that mean is added to errors[j] of each context position, for _spread later."""
    dim = h.shape[0]
    for d in range(dim):
        h[d] = np.float32(0.0)
    count = 0
    for j in range(lo, hi):
        if j == center:
            continue
        count += sizes[j]
        for d in range(dim):
            h[d] += sums[j, d]
    inv = np.float32(1.0 / count)
    for d in range(dim):
        h[d] *= inv
    loss = _output_layer(w_out, h, targets, n_targets, 1, alpha, grads, work, want_loss)
    for j in range(lo, hi):
        if j == center:
            continue
        for d in range(dim):
            errors[j, d] += work[d]
    return loss


@numba.njit(inline="always", fastmath=True)
def _compose_sentence(
    words: np.ndarray,
    n: int,
    w_words: np.ndarray,
    w_ngrams: np.ndarray,
    offsets: np.ndarray,
    rows: np.ndarray,
    sums: np.ndarray,
    sizes: np.ndarray,
    errors: np.ndarray,
) -> None:
    """sums[j] = word j's own row plus its n-gram rows, sizes[j] how many; errors[j] = 0."""
    for j in range(n):
        for d in range(sums.shape[1]):
            sums[j, d] = np.float32(0.0)
            errors[j, d] = np.float32(0.0)
        sizes[j] = _add_word(sums[j], w_words, w_ngrams, offsets, rows, words[j])


@numba.njit(nogil=True, fastmath=True, cache=True)
def sg_window_step(
    w_words: np.ndarray,
    w_ngrams: np.ndarray,
    w_out: np.ndarray,
    offsets: np.ndarray,
    rows: np.ndarray,
    center: int,
    targets: np.ndarray,
    n_targets: np.ndarray,
    n_contexts: int,
    alpha: float,
    lock_words: np.ndarray,
    lock_ngrams: np.ndarray,
) -> float:
    """The skip-gram update of one window with its own scratch (see _sg_window): group m of
    `targets` is context m and its negatives. Returns the window's loss before the step."""
    dim = w_words.shape[1]
    h = np.empty(dim, dtype=np.float32)
    work = np.empty(dim, dtype=np.float32)
    grads = np.empty(targets.shape, dtype=np.float32)
    return _sg_window(
        w_words, w_ngrams, w_out, offsets, rows, center, targets, n_targets, n_contexts, alpha, h, work,
        grads, True, lock_words, lock_ngrams,
    )  # fmt: skip


@numba.njit(nogil=True, fastmath=True, cache=True)
def cbow_window_step(
    w_words: np.ndarray,
    w_ngrams: np.ndarray,
    w_out: np.ndarray,
    offsets: np.ndarray,
    rows: np.ndarray,
    contexts: np.ndarray,
    n_contexts: int,
    targets: np.ndarray,
    n_targets: int,
    alpha: float,
    lock_words: np.ndarray,
    lock_ngrams: np.ndarray,
) -> float:
    """One CBOW example as train_chunk_cbow makes it, with its own scratch: the context words
    composed (_compose_sentence), the example (_cbow_window, the centre being a position past
    the contexts), the errors spread to the rows. `targets` is 1-D, the centre word first.
    Returns the loss before the step."""
    dim = w_words.shape[1]
    h = np.empty(dim, dtype=np.float32)
    work = np.empty(dim, dtype=np.float32)
    sums = np.empty((n_contexts, dim), dtype=np.float32)
    errors = np.empty((n_contexts, dim), dtype=np.float32)
    sizes = np.empty(n_contexts, dtype=np.int64)
    group = np.empty((1, n_targets), dtype=np.int32)
    group[0, :] = targets[:n_targets]
    counts = np.full(1, n_targets, dtype=np.int64)
    grads = np.empty((1, n_targets), dtype=np.float32)
    _compose_sentence(contexts, n_contexts, w_words, w_ngrams, offsets, rows, sums, sizes, errors)
    loss = _cbow_window(
        w_out, sums, sizes, errors, 0, n_contexts, n_contexts, group, counts, alpha, h, work, grads, True
    )
    for j in range(n_contexts):
        _spread(errors[j], w_words, w_ngrams, offsets, rows, contexts[j], lock_words, lock_ngrams)
    return loss


@numba.njit(nogil=True, fastmath=True, cache=True)
def train_chunk_sg(cfg: FastTextConfig, chunk: tuple) -> tuple:
    """Skip-gram over the chunk's stretch of the stream (word2vec_kernels.Chunk). Returns (words
    read, words kept, loss summed over the pairs of every LOSS_EVERY-th window, pairs)."""
    stream, w_words, w_ngrams, w_out = cfg.stream, cfg.w_words, cfg.w_ngrams, cfg.w_out
    offsets, rows, keep = cfg.offsets, cfg.rows, cfg.keep
    alias_thresh, alias_idx, window, negative = cfg.alias_thresh, cfg.alias_idx, cfg.window, cfg.negative
    lock_words, lock_ngrams = cfg.lock_words, cfg.lock_ngrams
    start, end, alpha_start, alpha_end, seed = chunk
    dim = w_words.shape[1]
    buf = np.empty(MAX_SENTENCE_TOKENS, dtype=np.int32)
    contexts = np.empty(2 * window, dtype=np.int32)
    targets = np.empty((2 * window, negative + 1), dtype=np.int32)
    n_targets = np.empty(2 * window, dtype=np.int64)
    grads = np.empty((2 * window, negative + 1), dtype=np.float32)
    h = np.empty(dim, dtype=np.float32)
    work = np.empty(dim, dtype=np.float32)
    rng = seed
    pos = start
    words = 0
    kept = 0
    loss = 0.0
    examples = 0
    windows = 0
    span = max(end - start, 1)
    while pos < end:
        pos, n, raw, rng = _read_sentence(stream, pos, end, keep, rng, buf)
        words += raw
        kept += n
        alpha = alpha_start + (alpha_end - alpha_start) * (pos - start) / span
        for i in range(n):
            reduced, rng = _shrunk_window(rng, window)
            nc = _gather_contexts(buf, n, i, reduced, contexts)
            if nc == 0:
                continue
            for m in range(nc):
                nt, rng = _draw_targets(contexts[m], negative, rng, alias_thresh, alias_idx, targets[m])
                n_targets[m] = nt
            want = windows & LOSS_EVERY_MASK == 0
            loss += _sg_window(
                w_words, w_ngrams, w_out, offsets, rows, buf[i], targets, n_targets, nc, alpha, h, work,
                grads, want, lock_words, lock_ngrams,
            )  # fmt: skip
            windows += 1
            examples += nc
    return words, kept, loss, examples


@numba.njit(nogil=True, fastmath=True, cache=True)
def train_chunk_cbow(cfg: FastTextConfig, chunk: tuple) -> tuple:
    """CBOW over the chunk; same contract as train_chunk_sg, one example a window.

    Batched by sentence: each position's own row and n-gram rows are summed once when the
    sentence is read, every window's hidden vector is built from those sums, and the errors of
    all the windows a position was in are spread to its rows once at the sentence's end. gensim
    re-reads and re-writes every context word's rows for every window (about 2 x window times as
    many row visits); the input rows here lag by at most one sentence, as Hogwild threads already
    read rows a little stale. Output rows are updated window by window, as gensim does."""
    stream, w_words, w_ngrams, w_out = cfg.stream, cfg.w_words, cfg.w_ngrams, cfg.w_out
    offsets, rows, keep = cfg.offsets, cfg.rows, cfg.keep
    alias_thresh, alias_idx, window, negative = cfg.alias_thresh, cfg.alias_idx, cfg.window, cfg.negative
    lock_words, lock_ngrams = cfg.lock_words, cfg.lock_ngrams
    start, end, alpha_start, alpha_end, seed = chunk
    dim = w_words.shape[1]
    buf = np.empty(MAX_SENTENCE_TOKENS, dtype=np.int32)
    sums = np.empty((MAX_SENTENCE_TOKENS, dim), dtype=np.float32)
    errors = np.empty((MAX_SENTENCE_TOKENS, dim), dtype=np.float32)
    sizes = np.empty(MAX_SENTENCE_TOKENS, dtype=np.int64)
    targets = np.empty((1, negative + 1), dtype=np.int32)
    n_targets = np.empty(1, dtype=np.int64)
    grads = np.empty((1, negative + 1), dtype=np.float32)
    h = np.empty(dim, dtype=np.float32)
    work = np.empty(dim, dtype=np.float32)
    rng = seed
    pos = start
    words = 0
    kept = 0
    loss = 0.0
    examples = 0
    span = max(end - start, 1)
    while pos < end:
        pos, n, raw, rng = _read_sentence(stream, pos, end, keep, rng, buf)
        words += raw
        kept += n
        if n < 2:
            continue  # no word has a context
        alpha = alpha_start + (alpha_end - alpha_start) * (pos - start) / span
        _compose_sentence(buf, n, w_words, w_ngrams, offsets, rows, sums, sizes, errors)
        for i in range(n):
            reduced, rng = _shrunk_window(rng, window)
            lo, hi = max(0, i - reduced), min(n, i + reduced + 1)
            nt, rng = _draw_targets(buf[i], negative, rng, alias_thresh, alias_idx, targets[0])
            n_targets[0] = nt
            want = examples & LOSS_EVERY_MASK == 0
            loss += _cbow_window(
                w_out, sums, sizes, errors, lo, hi, i, targets, n_targets, alpha, h, work, grads, want
            )
            examples += 1
        for j in range(n):
            _spread(errors[j], w_words, w_ngrams, offsets, rows, buf[j], lock_words, lock_ngrams)
    return words, kept, loss, examples
