"""word2vec kernels: skip-gram and CBOW with negative sampling. Pure numba, no I/O.

`sgns_step` and `cbow_step` are the per-example math; `train_chunk_sg` / `train_chunk_cbow`
run them over a chunk of the token-id stream with the GIL released, so several Python threads
train one shared pair of matrices at once (Hogwild, as word2vec.c and gensim do).
`train_chunk_sg_batched` (the default skip-gram) draws one set of negatives a window and updates
the window as one small matrix-matrix product (`sg_window_step`; Ji et al. 2016, "HogBatch"):
each output row is written once a window instead of once a pair, so racing threads collide
on the frequent words' rows several times less often. `train_chunk_cbow_batched` (the default
CBOW) carries that over to CBOW, which pWord2Vec does not have: CBOW_GROUP consecutive centre
words share one set of negatives and update as one matrix-matrix step (`cbow_group_step`).
With `KernelConfig.hot_rows` the batched kernels also keep a private copy of the most frequent
words' output rows, merged into the shared rows every HOT_MERGE_WORDS words (Vuurens et al. 2016).

Conventions follow word2vec.c and gensim:
- skip-gram predicts the centre word from each context word: the input vector is the context
  word's row of `w_in`, the output vector the centre word's (and the negatives') row of `w_out`;
- CBOW predicts the centre word from the mean of the context rows, and adds the error at that
  mean to every context row in full (word2vec.c's `neu1e`, gensim's `cbow_mean=1`);
- the window is shrunk at random for every centre word (1 ... window words on each side);
- frequent words are dropped before the window is built, fresh for every epoch;
- a negative that draws the centre word itself is skipped;
- every input-row update is scaled by the row's lock factor (KernelConfig.lockf, gensim's
  `vectors_lockf`: 0 keeps the row fixed, for fine-tuning's --lock-old); output rows always train.

The sigmoid comes from a table like word2vec.c's, but interpolated (error < 1e-6), so the step is
the gradient of the loss it reports to float precision, which the finite-difference tests check.

Random numbers come from xorshift64* with one state a chunk, seeded from (seed, epoch, chunk):
results do not depend on which thread runs which chunk, and one thread is bit-for-bit
reproducible.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numba
import numpy as np

from firth_trainer.corpus import MAX_SENTENCE_TOKENS, SENTENCE_END

# The loss is summed over one example in LOSS_EVERY (its log1p costs as much as a dot product at
# dim 100); the mean over that systematic sample is what progress and meta.json report.
LOSS_EVERY = 8
LOSS_EVERY_MASK = LOSS_EVERY - 1
SIGMOID_RANGE = 8.0  # sigmoid(8) = 0.99966: beyond it the gradient is (label - 0 or 1) * alpha
SIGMOID_STEPS = 2048  # table cells over [-8, 8]: linear interpolation error below 1e-6
SIGMOID_SCALE = SIGMOID_STEPS / (2 * SIGMOID_RANGE)
SIGMOID_TABLE = (
    1.0 / (1.0 + np.exp(-(np.arange(SIGMOID_STEPS + 2) / SIGMOID_SCALE - SIGMOID_RANGE)))
).astype(np.float32)
_U32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
_MUL = np.uint64(0x2545F4914F6CDD1D)
# Consecutive centre words a batched CBOW update takes at once, sharing one set of negatives:
# groups of 4 cost 1.3 analogy points against gensim over three seeds, groups of 2 none (README).
CBOW_GROUP = 2
# With KernelConfig.hot_rows, the private hot rows are merged into the shared ones after every
# sentence that brings the words kept since the last merge to this many, and at the chunk's end:
# a whole chunk between merges let two threads' changes to the hottest rows, each made as if
# alone, add up to overshooting steps (a 1-epoch loss 0.035 above the in-place kernel's).
HOT_MERGE_WORDS = 1024


class KernelConfig(NamedTuple):
    """What every chunk of one run shares, in one record as gensim's Word2VecConfig
    (word2vec_inner.pxd): the id stream, both matrices, the sampling tables and the
    hyperparameters the kernels read. numba passes a namedtuple as one typed value and reads its
    fields as plain locals, so the record costs nothing in the inner loops."""

    stream: np.ndarray  # int32 ids, SENTENCE_END after every sentence
    w_in: np.ndarray  # (vocabulary, dim) float32 input vectors, trained in place
    w_out: np.ndarray  # (vocabulary, dim) float32 output vectors, trained in place
    keep: np.ndarray  # subsampling: keep a word when a 32-bit draw is below keep[word]
    alias_thresh: np.ndarray  # negative sampling's alias table (trainer/vocab.py:alias_table)
    alias_idx: np.ndarray
    window: int  # maximum distance between centre and context
    negative: int  # negatives an example
    # (vocabulary,) float32 factor on every input-row update, gensim's `vectors_lockf`: 1 trains
    # the row, 0 keeps it fixed (fine-tuning's --lock-old). Output rows always train, as in gensim.
    lockf: np.ndarray
    # The batched kernels keep a private copy of the first `hot_rows` output rows (the most
    # frequent words': the vocabulary is sorted by count) and add its change to w_out after every
    # HOT_MERGE_WORDS kept words and at the chunk's end (Vuurens et al. 2016); 0: every row is
    # written in place.
    hot_rows: int = 0


class Chunk(NamedTuple):
    """One job: the sentences in stream[start:end], their learning rates and random stream."""

    start: int
    end: int
    alpha_start: float
    alpha_end: float
    seed: np.uint64  # xorshift state, from mix_seed(seed, epoch, chunk)


@numba.njit(inline="always")
def xorshift(state: np.uint64) -> np.uint64:
    state ^= state >> np.uint64(12)
    state ^= state << np.uint64(25)
    state ^= state >> np.uint64(27)
    return state


@numba.njit(cache=True)
def mix_seed(seed: int, epoch: int, chunk: int) -> np.uint64:
    """splitmix64 of (seed, epoch, chunk): a well-spread non-zero xorshift state."""
    z = np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15)
    z ^= np.uint64(epoch) * np.uint64(0xBF58476D1CE4E5B9) + np.uint64(chunk) * np.uint64(0x94D049BB133111EB)
    z += np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    if z == np.uint64(0):
        z = np.uint64(0x2545F4914F6CDD1D)
    return z


@numba.njit(inline="always")
def sigmoid(f: Any) -> Any:
    """sigmoid(f) from SIGMOID_TABLE with linear interpolation (error < 1e-6), 0 or 1 beyond
    +-SIGMOID_RANGE: word2vec.c's exp table, made accurate enough for the gradient checks."""
    if f >= SIGMOID_RANGE:
        return np.float32(1.0)
    if f <= -SIGMOID_RANGE:
        return np.float32(0.0)
    x = (f + SIGMOID_RANGE) * SIGMOID_SCALE
    # Clamped: a NaN score (vectors blown up by a huge alpha) passes both tests above, and its
    # int() is undefined (INT_MIN on x86), an index far outside the table.
    i = min(max(int(x), 0), SIGMOID_STEPS)
    frac = np.float32(x - i)
    lo = SIGMOID_TABLE[i]
    return lo + frac * (SIGMOID_TABLE[i + 1] - lo)


@numba.njit(inline="always")
def _log_loss(f: Any, label: float) -> float:
    """-log sigmoid(f) for label 1, -log sigmoid(-f) for label 0, computed stably."""
    z = -f if label > 0.5 else f
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))


@numba.njit(inline="always", fastmath=True)
def _apply(
    w_out: np.ndarray,
    hidden: np.ndarray,
    h: int,
    targets: np.ndarray,
    n_targets: int,
    alpha: float,
    grads: np.ndarray,
    neu1e: np.ndarray,
    want_loss: bool,
) -> float:
    """Negative-sampling output layer for the hidden vector hidden[h]: every score first (they are
    independent, so the CPU overlaps them), then the updates. Output rows move by
    -alpha * gradient; neu1e receives -alpha * dLoss/dhidden. Returns the loss (0 unless wanted).

    Scoring every target before updating any is the exact gradient step of the summed loss even
    when a negative is drawn twice (word2vec.c would score the second copy after the first's update)."""
    dim = hidden.shape[1]
    loss = 0.0
    for k in range(n_targets):
        t = targets[k]
        f = np.float32(0.0)
        for d in range(dim):
            f += hidden[h, d] * w_out[t, d]
        label = 1.0 if k == 0 else 0.0
        if want_loss:
            loss += _log_loss(f, label)
        grads[k] = np.float32((label - sigmoid(f)) * alpha)
    t = targets[0]
    g = grads[0]
    for d in range(dim):
        neu1e[d] = g * w_out[t, d]
        w_out[t, d] += g * hidden[h, d]
    for k in range(1, n_targets):
        t = targets[k]
        g = grads[k]
        for d in range(dim):
            neu1e[d] += g * w_out[t, d]
            w_out[t, d] += g * hidden[h, d]
    return loss


@numba.njit(inline="always", fastmath=True)
def _add_locked(w_in: np.ndarray, lockf: np.ndarray, row: int, delta: np.ndarray) -> None:
    """w_in[row] += lockf[row] * delta; a locked row (factor 0) is not touched at all, so it stays
    bit for bit and its cache line is not dirtied. A factor of 1 adds delta exactly."""
    lock = lockf[row]
    if lock == np.float32(0.0):
        return
    for d in range(w_in.shape[1]):
        w_in[row, d] += lock * delta[d]


@numba.njit(nogil=True, fastmath=True, cache=True)
def sgns_step(
    w_in: np.ndarray,
    w_out: np.ndarray,
    lockf: np.ndarray,
    context: int,
    targets: np.ndarray,
    n_targets: int,
    alpha: float,
    neu1e: np.ndarray,
    grads: np.ndarray,
    want_loss: bool = True,
) -> float:
    """One skip-gram example: input row `context`, targets[0] the true word (label 1), targets[1:n]
    negatives (label 0); `neu1e` (dim) and `grads` (>= n) are scratch. Updates both matrices by
    -alpha * gradient, the input row scaled by lockf[context]; returns the loss before (0 unless
    want_loss)."""
    loss = _apply(w_out, w_in, context, targets, n_targets, alpha, grads, neu1e, want_loss)
    _add_locked(w_in, lockf, context, neu1e)
    return loss


@numba.njit(nogil=True, fastmath=True, cache=True)
def cbow_step(
    w_in: np.ndarray,
    w_out: np.ndarray,
    lockf: np.ndarray,
    contexts: np.ndarray,
    n_contexts: int,
    targets: np.ndarray,
    n_targets: int,
    alpha: float,
    neu1: np.ndarray,
    neu1e: np.ndarray,
    grads: np.ndarray,
    want_loss: bool = True,
) -> float:
    """One CBOW example: the hidden vector is the mean of the context rows contexts[:n_contexts];
    targets as in sgns_step; `neu1` is a (1, dim) scratch matrix. Output rows move by
    -alpha * gradient; the error at the hidden vector (-alpha * dLoss/dhidden) is added to every
    context row, scaled by its lockf. Returns the loss before the update (0 unless want_loss)."""
    dim = w_in.shape[1]
    c = contexts[0]
    for d in range(dim):
        neu1[0, d] = w_in[c, d]
    for m in range(1, n_contexts):
        c = contexts[m]
        for d in range(dim):
            neu1[0, d] += w_in[c, d]
    inv = np.float32(1.0 / n_contexts)
    for d in range(dim):
        neu1[0, d] *= inv
    loss = _apply(w_out, neu1, 0, targets, n_targets, alpha, grads, neu1e, want_loss)
    for m in range(n_contexts):
        _add_locked(w_in, lockf, contexts[m], neu1e)
    return loss


@numba.njit(inline="always")
def _out_rows(w_out: np.ndarray, hot: np.ndarray, t: int) -> np.ndarray:
    """The matrix holding output row t: the chunk's private copy of the hot rows, or w_out."""
    return hot if t < hot.shape[0] else w_out


@numba.njit(inline="always", fastmath=True)
def _sg_window(
    w_in: np.ndarray,
    w_out: np.ndarray,
    lockf: np.ndarray,
    contexts: np.ndarray,
    n_contexts: int,
    targets: np.ndarray,
    n_targets: int,
    alpha: float,
    cin: np.ndarray,
    cout: np.ndarray,
    grads: np.ndarray,
    acc: np.ndarray,
    want_loss: bool,
) -> float:
    """_sg_window_rows with every output row written in place (no private hot rows)."""
    return _sg_window_rows(
        w_in,
        w_out,
        lockf,
        contexts,
        n_contexts,
        targets,
        n_targets,
        alpha,
        cin,
        cout,
        grads,
        acc,
        want_loss,
        w_out[:0],
    )


@numba.njit(inline="always", fastmath=True)
def _sg_window_rows(
    w_in: np.ndarray,
    w_out: np.ndarray,
    lockf: np.ndarray,
    contexts: np.ndarray,
    n_contexts: int,
    targets: np.ndarray,
    n_targets: int,
    alpha: float,
    cin: np.ndarray,
    cout: np.ndarray,
    grads: np.ndarray,
    acc: np.ndarray,
    want_loss: bool,
    hot: np.ndarray,
) -> float:
    """One skip-gram window as a matrix-matrix update (Ji et al. 2016, pWord2Vec's HogBatch): the
    context rows C (n_contexts x dim) all predict the same targets, whose output rows O
    (n_targets x dim: the centre word, then the window's shared negatives) are read once.
    G = alpha * (labels - sigmoid(C O^T)); then O += G^T C and C += G O, both from the rows as
    they were, so this is the exact gradient step of the window's summed loss, and each output
    row is written once a window instead of once a pair. Each context row's update is scaled by its
    lockf (a locked row's is not even computed). cin, cout, grads and acc are scratch
    (>= n_contexts x dim, >= n_targets x dim, >= n_contexts x n_targets, dim); output rows below
    hot.shape[0] are read from and written to `hot` instead of w_out."""
    dim = w_in.shape[1]
    for m in range(n_contexts):
        c = contexts[m]
        for d in range(dim):
            cin[m, d] = w_in[c, d]
    for k in range(n_targets):
        t = targets[k]
        rows = _out_rows(w_out, hot, t)
        for d in range(dim):
            cout[k, d] = rows[t, d]
    loss = 0.0
    for m in range(n_contexts):
        for k in range(n_targets):
            f = np.float32(0.0)
            for d in range(dim):
                f += cin[m, d] * cout[k, d]
            label = 1.0 if k == 0 else 0.0
            if want_loss:
                loss += _log_loss(f, label)
            grads[m, k] = np.float32((label - sigmoid(f)) * alpha)
    for k in range(n_targets):
        g = grads[0, k]
        for d in range(dim):
            acc[d] = g * cin[0, d]
        for m in range(1, n_contexts):
            g = grads[m, k]
            for d in range(dim):
                acc[d] += g * cin[m, d]
        t = targets[k]
        rows = _out_rows(w_out, hot, t)
        for d in range(dim):
            rows[t, d] += acc[d]
    for m in range(n_contexts):
        c = contexts[m]
        if lockf[c] == np.float32(0.0):
            continue
        g = grads[m, 0]
        for d in range(dim):
            acc[d] = g * cout[0, d]
        for k in range(1, n_targets):
            g = grads[m, k]
            for d in range(dim):
                acc[d] += g * cout[k, d]
        _add_locked(w_in, lockf, c, acc)
    return loss


@numba.njit(nogil=True, fastmath=True, cache=True)
def sg_window_step(
    w_in: np.ndarray,
    w_out: np.ndarray,
    lockf: np.ndarray,
    contexts: np.ndarray,
    n_contexts: int,
    targets: np.ndarray,
    n_targets: int,
    alpha: float,
    want_loss: bool = True,
) -> float:
    """The batched skip-gram update of one window (see _sg_window) with its own scratch: moves
    both matrices by -alpha * the gradient of the window's loss (the sum over its context words
    of sgns_step's loss, against the shared targets) and returns that loss before the step."""
    dim = w_in.shape[1]
    cin = np.empty((max(n_contexts, 1), dim), dtype=np.float32)
    cout = np.empty((n_targets, dim), dtype=np.float32)
    grads = np.empty((max(n_contexts, 1), n_targets), dtype=np.float32)
    acc = np.empty(dim, dtype=np.float32)
    return _sg_window(
        w_in, w_out, lockf, contexts, n_contexts, targets, n_targets, alpha, cin, cout, grads, acc, want_loss
    )


@numba.njit(inline="always")
def _draw_targets(
    center: int,
    negative: int,
    rng: np.uint64,
    alias_thresh: np.ndarray,
    alias_idx: np.ndarray,
    targets: np.ndarray,
) -> tuple:
    """targets[0] = center, then up to `negative` draws from the alias table (the centre skipped)."""
    n_words = np.uint64(alias_idx.shape[0])
    targets[0] = center
    nt = 1
    for _ in range(negative):
        rng = xorshift(rng)
        r = rng * _MUL
        col = ((r >> _S32) * n_words) >> _S32
        t = np.int32(col) if (r & _U32) < alias_thresh[col] else alias_idx[col]
        if t == center:
            continue
        targets[nt] = t
        nt += 1
    return nt, rng


@numba.njit(inline="always")
def _read_sentence(
    stream: np.ndarray, pos: int, end: int, keep: np.ndarray, rng: np.uint64, buf: np.ndarray
) -> tuple:
    """Read one sentence from stream[pos:], keeping each word with its subsampling probability."""
    n = 0
    raw = 0
    while pos < end and stream[pos] != SENTENCE_END:
        w = stream[pos]
        pos += 1
        raw += 1
        rng = xorshift(rng)
        if ((rng * _MUL) >> _S32) < keep[w] and n < buf.shape[0]:
            buf[n] = w
            n += 1
    if pos < end:
        pos += 1  # the sentence end
    return pos, n, raw, rng


@numba.njit(inline="always")
def _shrunk_window(rng: np.uint64, window: int) -> tuple:
    """word2vec's shrinking window: a radius drawn uniformly from 1..window (advances rng)."""
    rng = xorshift(rng)
    return int(window - np.int64((rng * _MUL) % np.uint64(window))), rng


@numba.njit(inline="always")
def _gather_contexts(buf: np.ndarray, n: int, i: int, radius: int, contexts: np.ndarray) -> int:
    """The words within `radius` of position i (i itself left out) into contexts; their count."""
    nc = 0
    for j in range(max(0, i - radius), min(n, i + radius + 1)):
        if j != i:
            contexts[nc] = buf[j]
            nc += 1
    return nc


@numba.njit(inline="always")
def _copy_hot_rows(w_out: np.ndarray, hot_rows: int) -> tuple:
    """A chunk's private copy of the first hot_rows output rows, and that copy as it started."""
    hot = w_out[: min(max(hot_rows, 0), w_out.shape[0])].copy()
    return hot, hot.copy()


@numba.njit(inline="always")
def _merge_hot_rows(w_out: np.ndarray, hot: np.ndarray, hot_start: np.ndarray) -> None:
    """Add what the chunk changed in its private hot rows to the shared ones (which other
    threads may have moved meanwhile: their changes are kept, as Hogwild keeps racing updates),
    then start the private copy afresh from the shared rows."""
    for r in range(hot.shape[0]):
        for d in range(hot.shape[1]):
            w_out[r, d] += hot[r, d] - hot_start[r, d]
            hot[r, d] = w_out[r, d]
            hot_start[r, d] = hot[r, d]


@numba.njit(nogil=True, fastmath=True, cache=True)
def train_chunk_sg(cfg: KernelConfig, chunk: Chunk) -> tuple:
    """Skip-gram over the chunk's stretch of cfg.stream (whole sentences). alpha moves linearly
    from chunk.alpha_start to chunk.alpha_end across the chunk. Returns (words read, words kept,
    summed loss over the examples numbered 0, LOSS_EVERY, 2 * LOSS_EVERY ..., examples)."""
    stream, w_in, w_out, keep = cfg.stream, cfg.w_in, cfg.w_out, cfg.keep
    alias_thresh, alias_idx, window, negative = cfg.alias_thresh, cfg.alias_idx, cfg.window, cfg.negative
    lockf = cfg.lockf
    start, end, alpha_start, alpha_end, seed = chunk
    dim = w_in.shape[1]
    buf = np.empty(MAX_SENTENCE_TOKENS, dtype=np.int32)
    targets = np.empty(negative + 1, dtype=np.int32)
    grads = np.empty(negative + 1, dtype=np.float32)
    neu1e = np.empty(dim, dtype=np.float32)
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
        alpha = alpha_start + (alpha_end - alpha_start) * (pos - start) / span
        for i in range(n):
            reduced, rng = _shrunk_window(rng, window)
            lo = max(0, i - reduced)
            hi = min(n, i + reduced + 1)
            center = buf[i]
            for j in range(lo, hi):
                if j == i:
                    continue
                nt, rng = _draw_targets(center, negative, rng, alias_thresh, alias_idx, targets)
                if examples & LOSS_EVERY_MASK == 0:
                    loss += sgns_step(w_in, w_out, lockf, buf[j], targets, nt, alpha, neu1e, grads, True)
                else:
                    sgns_step(w_in, w_out, lockf, buf[j], targets, nt, alpha, neu1e, grads, False)
                examples += 1
    return words, kept, loss, examples


@numba.njit(nogil=True, fastmath=True, cache=True)
def train_chunk_sg_batched(cfg: KernelConfig, chunk: Chunk) -> tuple:
    """Skip-gram over the chunk with one set of negatives a window (pWord2Vec's HogBatch): the
    centre word's window is one matrix-matrix update (_sg_window). Same contract as
    train_chunk_sg, except that the loss is summed over the pairs of every LOSS_EVERY-th window
    (a systematic sample of windows, so the driver's mean an example stays an estimate of it)."""
    stream, w_in, w_out, keep = cfg.stream, cfg.w_in, cfg.w_out, cfg.keep
    alias_thresh, alias_idx, window, negative = cfg.alias_thresh, cfg.alias_idx, cfg.window, cfg.negative
    lockf = cfg.lockf
    start, end, alpha_start, alpha_end, seed = chunk
    dim = w_in.shape[1]
    buf = np.empty(MAX_SENTENCE_TOKENS, dtype=np.int32)
    targets = np.empty(negative + 1, dtype=np.int32)
    contexts = np.empty(2 * window, dtype=np.int32)
    cin = np.empty((2 * window, dim), dtype=np.float32)
    cout = np.empty((negative + 1, dim), dtype=np.float32)
    grads = np.empty((2 * window, negative + 1), dtype=np.float32)
    acc = np.empty(dim, dtype=np.float32)
    hot, hot_start = _copy_hot_rows(w_out, cfg.hot_rows)
    merged = 0
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
        if hot.shape[0] and kept - merged >= HOT_MERGE_WORDS:
            _merge_hot_rows(w_out, hot, hot_start)
            merged = kept
        alpha = alpha_start + (alpha_end - alpha_start) * (pos - start) / span
        for i in range(n):
            reduced, rng = _shrunk_window(rng, window)
            nc = _gather_contexts(buf, n, i, reduced, contexts)
            if nc == 0:
                continue
            nt, rng = _draw_targets(buf[i], negative, rng, alias_thresh, alias_idx, targets)
            want = windows & LOSS_EVERY_MASK == 0
            loss += _sg_window_rows(
                w_in, w_out, lockf, contexts, nc, targets, nt, alpha, cin, cout, grads, acc, want, hot
            )
            windows += 1
            examples += nc
    _merge_hot_rows(w_out, hot, hot_start)
    return words, kept, loss, examples


@numba.njit(nogil=True, fastmath=True, cache=True)
def train_chunk_cbow(cfg: KernelConfig, chunk: Chunk) -> tuple:
    """CBOW over the chunk's stretch of cfg.stream; same contract as train_chunk_sg."""
    stream, w_in, w_out, keep = cfg.stream, cfg.w_in, cfg.w_out, cfg.keep
    alias_thresh, alias_idx, window, negative = cfg.alias_thresh, cfg.alias_idx, cfg.window, cfg.negative
    lockf = cfg.lockf
    start, end, alpha_start, alpha_end, seed = chunk
    dim = w_in.shape[1]
    buf = np.empty(MAX_SENTENCE_TOKENS, dtype=np.int32)
    targets = np.empty(negative + 1, dtype=np.int32)
    contexts = np.empty(2 * window, dtype=np.int32)
    grads = np.empty(negative + 1, dtype=np.float32)
    neu1 = np.empty((1, dim), dtype=np.float32)
    neu1e = np.empty(dim, dtype=np.float32)
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
        alpha = alpha_start + (alpha_end - alpha_start) * (pos - start) / span
        for i in range(n):
            reduced, rng = _shrunk_window(rng, window)
            nc = _gather_contexts(buf, n, i, reduced, contexts)
            if nc == 0:
                continue
            nt, rng = _draw_targets(buf[i], negative, rng, alias_thresh, alias_idx, targets)
            if examples & LOSS_EVERY_MASK == 0:
                loss += cbow_step(
                    w_in, w_out, lockf, contexts, nc, targets, nt, alpha, neu1, neu1e, grads, True
                )
            else:
                cbow_step(w_in, w_out, lockf, contexts, nc, targets, nt, alpha, neu1, neu1e, grads, False)
            examples += 1
    return words, kept, loss, examples


@numba.njit(inline="always")
def _draw_negatives(
    negative: int, rng: np.uint64, alias_thresh: np.ndarray, alias_idx: np.ndarray, negatives: np.ndarray
) -> np.uint64:
    """`negative` draws from the alias table into negatives[:negative] (none skipped: a group's
    negatives are shared by several centre words, so a draw is masked per centre instead)."""
    n_words = np.uint64(alias_idx.shape[0])
    for k in range(negative):
        rng = xorshift(rng)
        r = rng * _MUL
        col = ((r >> _S32) * n_words) >> _S32
        negatives[k] = np.int32(col) if (r & _U32) < alias_thresh[col] else alias_idx[col]
    return rng


@numba.njit(inline="always", fastmath=True)
def _cbow_group(
    w_in: np.ndarray,
    w_out: np.ndarray,
    lockf: np.ndarray,
    words: np.ndarray,
    n_span: int,
    centres: np.ndarray,
    lows: np.ndarray,
    highs: np.ndarray,
    n_group: int,
    negatives: np.ndarray,
    n_neg: int,
    alpha: float,
    cin: np.ndarray,
    hidden: np.ndarray,
    cpos: np.ndarray,
    cneg: np.ndarray,
    gpos: np.ndarray,
    gneg: np.ndarray,
    err: np.ndarray,
    acc: np.ndarray,
    want_loss: bool,
    hot: np.ndarray,
) -> float:
    """A group of consecutive CBOW examples as one matrix-matrix update (HogBatch carried over to
    CBOW): `words` (n_span) is a stretch of a sentence; example b predicts words[centres[b]] from
    the mean of words[lows[b]:highs[b]] without the centre, against the group's shared negatives
    (a negative equal to the example's own centre is left out of that example). Every context
    row is read once into cin, the hidden means H (n_group x dim) and the output rows once; the
    scores of all pairs come first, then the output rows move (each negative once, by the sum over
    the group: O += G^T H), then each context row once by the errors of every example that reads
    it (word2vec.c's convention: the full error at the mean, as cbow_step), scaled by its lockf
    (a locked row's is not even computed). All from the rows as they were, so it is the exact
    step of the group's summed loss. cin, hidden, cpos, cneg, gpos,
    gneg, err and acc are scratch (>= n_span x dim, n_group x dim, n_group x dim, n_neg x dim,
    n_group, n_group x n_neg, n_group x dim, dim); output rows below hot.shape[0] are read from and
    written to `hot` instead of w_out."""
    dim = w_in.shape[1]
    for j in range(n_span):
        w = words[j]
        for d in range(dim):
            cin[j, d] = w_in[w, d]
    for b in range(n_group):
        for d in range(dim):
            hidden[b, d] = np.float32(0.0)
        for j in range(lows[b], highs[b]):
            if j == centres[b]:
                continue
            for d in range(dim):
                hidden[b, d] += cin[j, d]
        inv = np.float32(1.0 / (highs[b] - lows[b] - 1))
        for d in range(dim):
            hidden[b, d] *= inv
        t = words[centres[b]]
        rows = _out_rows(w_out, hot, t)
        for d in range(dim):
            cpos[b, d] = rows[t, d]
    for k in range(n_neg):
        t = negatives[k]
        rows = _out_rows(w_out, hot, t)
        for d in range(dim):
            cneg[k, d] = rows[t, d]
    loss = 0.0
    for b in range(n_group):
        f = np.float32(0.0)
        for d in range(dim):
            f += hidden[b, d] * cpos[b, d]
        if want_loss:
            loss += _log_loss(f, 1.0)
        gpos[b] = np.float32((1.0 - sigmoid(f)) * alpha)
        centre = words[centres[b]]
        for k in range(n_neg):
            if negatives[k] == centre:
                gneg[b, k] = np.float32(0.0)
                continue
            f = np.float32(0.0)
            for d in range(dim):
                f += hidden[b, d] * cneg[k, d]
            if want_loss:
                loss += _log_loss(f, 0.0)
            gneg[b, k] = np.float32(-sigmoid(f) * alpha)
    for b in range(n_group):
        g = gpos[b]
        for d in range(dim):
            err[b, d] = g * cpos[b, d]
        for k in range(n_neg):
            g = gneg[b, k]
            for d in range(dim):
                err[b, d] += g * cneg[k, d]
    for b in range(n_group):
        t = words[centres[b]]
        rows = _out_rows(w_out, hot, t)
        g = gpos[b]
        for d in range(dim):
            rows[t, d] += g * hidden[b, d]
    for k in range(n_neg):
        g = gneg[0, k]
        for d in range(dim):
            acc[d] = g * hidden[0, d]
        for b in range(1, n_group):
            g = gneg[b, k]
            for d in range(dim):
                acc[d] += g * hidden[b, d]
        t = negatives[k]
        rows = _out_rows(w_out, hot, t)
        for d in range(dim):
            rows[t, d] += acc[d]
    for j in range(n_span):
        w = words[j]
        if lockf[w] == np.float32(0.0):
            continue
        for d in range(dim):
            acc[d] = np.float32(0.0)
        for b in range(n_group):
            if lows[b] <= j < highs[b] and j != centres[b]:
                for d in range(dim):
                    acc[d] += err[b, d]
        _add_locked(w_in, lockf, w, acc)
    return loss


@numba.njit(nogil=True, fastmath=True, cache=True)
def cbow_group_step(
    w_in: np.ndarray,
    w_out: np.ndarray,
    lockf: np.ndarray,
    words: np.ndarray,
    centres: np.ndarray,
    lows: np.ndarray,
    highs: np.ndarray,
    negatives: np.ndarray,
    alpha: float,
    want_loss: bool = True,
) -> float:
    """The batched CBOW update of one group (see _cbow_group) with its own scratch: moves both
    matrices by -alpha times the (word2vec.c-convention) gradient of the group's summed loss and
    returns that loss before the step."""
    dim = w_in.shape[1]
    n_span, n_group, n_neg = words.shape[0], centres.shape[0], negatives.shape[0]
    return _cbow_group(
        w_in, w_out, lockf, words, n_span, centres, lows, highs, n_group, negatives, n_neg, alpha,
        np.empty((n_span, dim), dtype=np.float32), np.empty((n_group, dim), dtype=np.float32),
        np.empty((n_group, dim), dtype=np.float32), np.empty((max(n_neg, 1), dim), dtype=np.float32),
        np.empty(n_group, dtype=np.float32), np.empty((n_group, max(n_neg, 1)), dtype=np.float32),
        np.empty((n_group, dim), dtype=np.float32), np.empty(dim, dtype=np.float32), want_loss, w_out[:0],
    )  # fmt: skip


@numba.njit(nogil=True, fastmath=True, cache=True)
def train_chunk_cbow_batched(cfg: KernelConfig, chunk: Chunk) -> tuple:
    """CBOW over the chunk in groups of CBOW_GROUP consecutive centre words of a sentence that
    share one set of negatives, each group one matrix-matrix update (_cbow_group). Same contract
    as train_chunk_cbow, except that the loss is summed over the examples of every LOSS_EVERY-th
    group (a systematic sample of groups)."""
    stream, w_in, w_out, keep = cfg.stream, cfg.w_in, cfg.w_out, cfg.keep
    alias_thresh, alias_idx, window, negative = cfg.alias_thresh, cfg.alias_idx, cfg.window, cfg.negative
    start, end, alpha_start, alpha_end, seed = chunk
    dim = w_in.shape[1]
    group = CBOW_GROUP
    span_max = group + 2 * window
    buf = np.empty(MAX_SENTENCE_TOKENS, dtype=np.int32)
    negatives = np.empty(negative, dtype=np.int32)
    centres = np.empty(group, dtype=np.int64)
    lows = np.empty(group, dtype=np.int64)
    highs = np.empty(group, dtype=np.int64)
    cin = np.empty((span_max, dim), dtype=np.float32)
    hidden = np.empty((group, dim), dtype=np.float32)
    cpos = np.empty((group, dim), dtype=np.float32)
    cneg = np.empty((max(negative, 1), dim), dtype=np.float32)
    gpos = np.empty(group, dtype=np.float32)
    gneg = np.empty((group, max(negative, 1)), dtype=np.float32)
    err = np.empty((group, dim), dtype=np.float32)
    acc = np.empty(dim, dtype=np.float32)
    hot, hot_start = _copy_hot_rows(w_out, cfg.hot_rows)
    merged = 0
    rng = seed
    pos = start
    words = 0
    kept = 0
    loss = 0.0
    examples = 0
    groups = 0
    span = max(end - start, 1)
    while pos < end:
        pos, n, raw, rng = _read_sentence(stream, pos, end, keep, rng, buf)
        words += raw
        kept += n
        if hot.shape[0] and kept - merged >= HOT_MERGE_WORDS:
            _merge_hot_rows(w_out, hot, hot_start)
            merged = kept
        alpha = alpha_start + (alpha_end - alpha_start) * (pos - start) / span
        if n < 2:
            continue  # no word has a context
        for g0 in range(0, n, group):
            ng = min(group, n - g0)
            lo = n
            hi = 0
            for b in range(ng):
                i = g0 + b
                reduced, rng = _shrunk_window(rng, window)
                lows[b] = max(0, i - reduced)
                highs[b] = min(n, i + reduced + 1)
                centres[b] = i
                lo = min(lo, lows[b])
                hi = max(hi, highs[b])
            for b in range(ng):
                lows[b] -= lo
                highs[b] -= lo
                centres[b] -= lo
            rng = _draw_negatives(negative, rng, alias_thresh, alias_idx, negatives)
            want = groups & LOSS_EVERY_MASK == 0
            loss += _cbow_group(
                w_in, w_out, cfg.lockf, buf[lo:hi], hi - lo, centres, lows, highs, ng, negatives, negative, alpha,
                cin, hidden, cpos, cneg, gpos, gneg, err, acc, want, hot,
            )  # fmt: skip
            groups += 1
            examples += ng
    _merge_hot_rows(w_out, hot, hot_start)
    return words, kept, loss, examples


@numba.njit(cache=True)
def chunk_bounds(stream: np.ndarray, target: int) -> np.ndarray:
    """Split the stream into chunks of about `target` entries that end on sentence ends."""
    bounds = [0]
    n = stream.shape[0]
    pos = 0
    while pos < n:
        nxt = min(pos + target, n)
        while nxt < n and stream[nxt - 1] != SENTENCE_END:
            nxt += 1
        bounds.append(nxt)
        pos = nxt
    return np.array(bounds, dtype=np.int64)
