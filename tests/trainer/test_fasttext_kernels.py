"""Finite-difference gradient checks of the fastText kernels: the loss as a function of the word
rows, the n-gram rows and the output rows; and the chunk kernels' contract."""

from __future__ import annotations

import numpy as np
import pytest

from firth_trainer import fasttext_kernels as ft
from firth_trainer import word2vec_kernels as w2v
from firth_trainer.vocab import alias_table, keep_thresholds

from .test_word2vec_kernels import _log_sigmoid, numeric_grad

N_WORDS, BUCKET, DIM = 6, 10, 5
# Word i's n-gram rows, CSR; word 2 holds row 4 twice (a repeated n-gram), words 0 and 3 share row 7
# (a hash collision), word 5 has none (a word shorter than minn).
NGRAM_ROWS = [[1, 7], [0, 3, 9], [4, 6, 4, 8], [7, 2], [5], []]
OFFSETS = np.cumsum([0] + [len(r) for r in NGRAM_ROWS]).astype(np.int64)
ROWS = np.array([g for r in NGRAM_ROWS for g in r], dtype=np.int32)


def hidden(w_words: np.ndarray, w_ngrams: np.ndarray, words: list[int]) -> np.ndarray:
    """The mean of every row the words stand for: their own and all their n-gram rows."""
    parts = [w_words[w] for w in words] + [w_ngrams[g] for w in words for g in NGRAM_ROWS[w]]
    return np.mean(np.array(parts, dtype=np.float64), axis=0)


def group_loss(h: np.ndarray, w_out: np.ndarray, group: list[int]) -> float:
    loss = -_log_sigmoid(h @ w_out[group[0]].astype(np.float64))
    for t in group[1:]:
        loss -= _log_sigmoid(-(h @ w_out[t].astype(np.float64)))
    return float(loss)


def sg_loss(
    w_words: np.ndarray, w_ngrams: np.ndarray, w_out: np.ndarray, center: int, groups: list[list[int]]
) -> float:
    """A skip-gram window's loss: the centre's composed vector predicts each context (group[0])
    against that context's negatives."""
    h = hidden(w_words, w_ngrams, [center])
    return sum(group_loss(h, w_out, g) for g in groups)


def cbow_loss(
    w_words: np.ndarray, w_ngrams: np.ndarray, w_out: np.ndarray, contexts: list[int], group: list[int]
) -> float:
    return group_loss(hidden(w_words, w_ngrams, contexts), w_out, group)


@pytest.fixture
def mats() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    return (
        rng.normal(0, 0.5, (N_WORDS, DIM)),
        rng.normal(0, 0.5, (BUCKET, DIM)),
        rng.normal(0, 0.5, (N_WORDS, DIM)),
    )


def unlocked() -> tuple[np.ndarray, np.ndarray]:
    """Lock factors of 1 for every word row and n-gram row: a run from scratch."""
    return np.ones(N_WORDS, np.float32), np.ones(BUCKET, np.float32)


def input_rows(words: list[int]) -> tuple[list[int], list[int]]:
    return sorted(set(words)), sorted({g for w in words for g in NGRAM_ROWS[w]})


@pytest.mark.parametrize(
    ("center", "groups"),
    [
        (2, [[0, 3, 5], [1, 3, 4]]),  # negative 3 shared by both contexts; row 4 repeated in the centre
        (0, [[1, 2], [3, 2], [1, 4]]),  # context 1 twice, negative 2 twice
        (5, [[4, 0, 1]]),  # a word without n-grams: plain skip-gram
    ],
)
def test_sg_window_step_is_minus_alpha_times_the_gradient_at_every_row(
    mats: tuple[np.ndarray, np.ndarray, np.ndarray], center: int, groups: list[list[int]]
) -> None:
    """fastText's update: each row of the centre moves by -alpha x the gradient at the mean, which
    is (1 + n-grams) x its own gradient (a repeated row counts twice); output rows by -alpha x theirs."""
    words64, ngrams64, out64 = mats
    alpha = 0.05
    w_words, w_ngrams, w_out = (m.astype(np.float32) for m in mats)
    word_rows, gram_rows = input_rows([center])
    out_rows = sorted({t for g in groups for t in g})

    def loss() -> float:
        return sg_loss(words64, ngrams64, out64, center, groups)

    g_word, g_gram, g_out = (
        numeric_grad(loss, m, r) for m, r in ((words64, word_rows), (ngrams64, gram_rows), (out64, out_rows))
    )
    before = sg_loss(w_words, w_ngrams, w_out, center, groups)
    targets = np.zeros((len(groups), 3), dtype=np.int32)
    for m, g in enumerate(groups):
        targets[m, : len(g)] = g
    counts = np.array([len(g) for g in groups], dtype=np.int64)
    new = [m.copy() for m in (w_words, w_ngrams, w_out)]
    reported = ft.sg_window_step(
        *new, OFFSETS, ROWS, center, targets, counts, len(groups), alpha, *unlocked()
    )
    assert reported == pytest.approx(before, rel=1e-5)
    spread = 1 + len(NGRAM_ROWS[center])
    np.testing.assert_allclose((new[0] - w_words)[word_rows] / -alpha, g_word * spread, rtol=1e-3, atol=1e-5)
    if gram_rows:
        np.testing.assert_allclose(
            (new[1] - w_ngrams)[gram_rows] / -alpha, g_gram * spread, rtol=1e-3, atol=1e-5
        )
    np.testing.assert_allclose((new[2] - w_out)[out_rows] / -alpha, g_out, rtol=1e-3, atol=1e-5)
    for before_m, after_m, touched in (
        (w_words, new[0], word_rows),
        (w_ngrams, new[1], gram_rows),
        (w_out, new[2], out_rows),
    ):
        untouched = [r for r in range(before_m.shape[0]) if r not in touched]
        assert np.array_equal(after_m[untouched], before_m[untouched])
    assert sg_loss(*new, center, groups) < before


@pytest.mark.parametrize(
    ("contexts", "group"),
    [([0, 3], [2, 1, 4]), ([2, 5, 1], [0, 4, 4]), ([5], [3, 1])],  # rows shared; a negative twice; no n-grams
)
def test_cbow_step_spreads_the_error_at_the_mean_of_all_rows(
    mats: tuple[np.ndarray, np.ndarray, np.ndarray], contexts: list[int], group: list[int]
) -> None:
    """The hidden vector is the mean over the context words' own rows and all their n-gram rows
    (fastText's and gensim's), and every one of those rows receives the full error at that mean."""
    words64, ngrams64, out64 = mats
    alpha = 0.05
    w_words, w_ngrams, w_out = (m.astype(np.float32) for m in mats)
    word_rows, gram_rows = input_rows(contexts)

    def loss() -> float:
        return cbow_loss(words64, ngrams64, out64, contexts, group)

    g_word, g_gram, g_out = (
        numeric_grad(loss, m, r)
        for m, r in ((words64, word_rows), (ngrams64, gram_rows), (out64, sorted(set(group))))
    )
    before = cbow_loss(w_words, w_ngrams, w_out, contexts, group)
    new = [m.copy() for m in (w_words, w_ngrams, w_out)]
    reported = ft.cbow_window_step(
        *new,
        OFFSETS,
        ROWS,
        np.array(contexts, np.int32),
        len(contexts),
        np.array(group, np.int32),
        len(group),
        alpha,
        *unlocked(),
    )
    assert reported == pytest.approx(before, rel=1e-5)
    count = sum(1 + len(NGRAM_ROWS[c]) for c in contexts)
    np.testing.assert_allclose((new[0] - w_words)[word_rows] / -alpha, g_word * count, rtol=1e-3, atol=1e-5)
    if gram_rows:
        np.testing.assert_allclose(
            (new[1] - w_ngrams)[gram_rows] / -alpha, g_gram * count, rtol=1e-3, atol=1e-5
        )
    np.testing.assert_allclose((new[2] - w_out)[sorted(set(group))] / -alpha, g_out, rtol=1e-3, atol=1e-5)
    assert cbow_loss(*new, contexts, group) < before


@pytest.mark.parametrize("kernel", [ft.train_chunk_sg, ft.train_chunk_cbow])
def test_a_chunk_moves_only_the_rows_of_its_words_and_repeats_bit_for_bit(kernel) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(4)
    sentences = [rng.integers(0, 4, size=int(rng.integers(2, 9))) for _ in range(40)]  # words 4 and 5 unused
    stream = np.concatenate([np.append(s, w2v.SENTENCE_END) for s in sentences]).astype(np.int32)
    counts = np.bincount(stream[stream >= 0], minlength=N_WORDS).astype(np.int64) + 1
    thresh, alias = alias_table(counts)
    start = [
        np.random.default_rng(s).standard_normal(shape).astype(np.float32) * 0.1
        for s, shape in ((1, (N_WORDS, DIM)), (2, (BUCKET, DIM)))
    ]

    def run(seed: int) -> tuple[tuple, np.ndarray, np.ndarray, np.ndarray]:
        w_words, w_ngrams, w_out = start[0].copy(), start[1].copy(), np.zeros((N_WORDS, DIM), np.float32)
        cfg = ft.FastTextConfig(
            stream,
            w_words,
            w_ngrams,
            w_out,
            OFFSETS,
            ROWS,
            keep_thresholds(counts, 0),
            thresh,
            alias,
            3,
            2,
            *unlocked(),
        )
        result = kernel(cfg, w2v.Chunk(0, stream.shape[0], 0.05, 0.01, np.uint64(w2v.mix_seed(seed, 0, 0))))
        return result, w_words, w_ngrams, w_out

    first, again, other = run(7), run(7), run(8)
    words, kept, loss, examples = first[0]
    assert words == kept == int((stream >= 0).sum())
    assert examples > 0 and np.isfinite(loss) and loss > 0
    assert first[0] == again[0] and all(
        a.tobytes() == b.tobytes() for a, b in zip(first[1:], again[1:], strict=True)
    )
    assert first[1].tobytes() != other[1].tobytes()
    used_grams = sorted({g for w in range(4) for g in NGRAM_ROWS[w]})
    unused_grams = [g for g in range(BUCKET) if g not in used_grams]
    assert not np.array_equal(first[1][:4], start[0][:4]) and not np.array_equal(
        first[2][used_grams], start[1][used_grams]
    )
    assert np.array_equal(first[1][4:], start[0][4:])  # unused words' rows never move
    assert np.array_equal(first[2][unused_grams], start[1][unused_grams])  # nor n-gram rows of no word used


@pytest.mark.parametrize("model", ["sg", "cbow"])
def test_lock_factors_scale_each_rows_gradient_step_and_zero_keeps_it(
    mats: tuple[np.ndarray, np.ndarray, np.ndarray], model: str
) -> None:
    """gensim's vectors_vocab_lockf / vectors_ngrams_lockf: with factors, every input row moves by
    its factor times the unlocked step (itself -alpha x the gradient, checked above); a factor of
    0 leaves the row bit for bit; output rows train in full."""
    alpha = 0.05
    start = [m.astype(np.float32) for m in mats]
    lock_words = np.array([0, 0.5, 0.5, 1, 0, 1], np.float32)  # word 0 locked, words 1 and 2 half
    lock_ngrams = np.ones(BUCKET, np.float32)
    lock_ngrams[[7, 3]] = 0  # shared row 7 and one of word 1's rows locked
    lock_ngrams[9] = 0.25

    def step(locks: tuple[np.ndarray, np.ndarray]) -> list[np.ndarray]:
        new = [m.copy() for m in start]
        if model == "sg":
            targets = np.array([[3, 5, 1], [2, 4, 0]], np.int32)  # centre 1: rows 0, 3 (locked), 9
            ft.sg_window_step(*new, OFFSETS, ROWS, 1, targets, np.array([3, 3]), 2, alpha, *locks)
        else:
            contexts, group = np.array([0, 1, 2], np.int32), np.array([3, 5, 4], np.int32)
            ft.cbow_window_step(*new, OFFSETS, ROWS, contexts, 3, group, 3, alpha, *locks)
        return new

    free, held = step(unlocked()), step((lock_words, lock_ngrams))
    moved_free = [(f - s).astype(np.float64) for f, s in zip(free, start, strict=True)]
    moved_held = [(h - s).astype(np.float64) for h, s in zip(held, start, strict=True)]
    np.testing.assert_allclose(moved_held[0], moved_free[0] * lock_words[:, None], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(moved_held[1], moved_free[1] * lock_ngrams[:, None], rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(held[2], free[2])  # output rows: the same full step
    for matrix, locks, s in ((held[0], lock_words, start[0]), (held[1], lock_ngrams, start[1])):
        zero = np.flatnonzero(locks == 0)
        assert matrix[zero].tobytes() == s[zero].tobytes()
    assert np.abs(moved_held[0][1]).max() > 0 and np.abs(moved_held[1][9]).max() > 0
