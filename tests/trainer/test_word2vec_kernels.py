"""Finite-difference gradient checks of the word2vec kernels, and the samplers they use."""

from __future__ import annotations

import numpy as np
import pytest

from firth_trainer import word2vec_kernels as k
from firth_trainer.vocab import alias_table, keep_thresholds


def _log_sigmoid(x: np.ndarray | float) -> np.ndarray | float:
    return -np.logaddexp(0.0, -x)


def sgns_loss(w_in: np.ndarray, w_out: np.ndarray, context: int, targets: list[int]) -> float:
    h = w_in[context].astype(np.float64)
    loss = -_log_sigmoid(h @ w_out[targets[0]].astype(np.float64))
    for t in targets[1:]:
        loss -= _log_sigmoid(-(h @ w_out[t].astype(np.float64)))
    return float(loss)


def cbow_loss(w_in: np.ndarray, w_out: np.ndarray, contexts: list[int], targets: list[int]) -> float:
    h = w_in[contexts].astype(np.float64).mean(axis=0)
    loss = -_log_sigmoid(h @ w_out[targets[0]].astype(np.float64))
    for t in targets[1:]:
        loss -= _log_sigmoid(-(h @ w_out[t].astype(np.float64)))
    return float(loss)


def numeric_grad(loss, w: np.ndarray, rows: list[int], eps: float = 1e-3) -> np.ndarray:
    """Central differences (in float64) of loss with respect to w[rows]."""
    grad = np.zeros((len(rows), w.shape[1]))
    for a, r in enumerate(rows):
        for d in range(w.shape[1]):
            old = w[r, d]
            w[r, d] = old + eps
            up = loss()
            w[r, d] = old - eps
            down = loss()
            w[r, d] = old
            grad[a, d] = (up - down) / (2 * eps)
    return grad


@pytest.fixture
def mats() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    w_in = rng.normal(0, 0.5, (8, 6))
    w_out = rng.normal(0, 0.5, (8, 6))
    return w_in, w_out


def test_sgns_step_is_minus_alpha_times_gradient(mats: tuple[np.ndarray, np.ndarray]) -> None:
    w_in64, w_out64 = mats
    context, targets, alpha = 2, [5, 1, 7, 3], 0.1
    w_in, w_out = w_in64.astype(np.float32), w_out64.astype(np.float32)
    before = sgns_loss(w_in, w_out, context, targets)
    g_in = numeric_grad(lambda: sgns_loss(w_in64, w_out64, context, targets), w_in64, [context])
    g_out = numeric_grad(lambda: sgns_loss(w_in64, w_out64, context, targets), w_out64, targets)
    new_in, new_out = w_in.copy(), w_out.copy()
    targets_arr = np.array(targets, np.int32)
    reported = k.sgns_step(
        new_in,
        new_out,
        np.ones(8, np.float32),
        context,
        targets_arr,
        len(targets),
        alpha,
        np.empty(6, np.float32),
        np.empty(4, np.float32),
    )
    assert reported == pytest.approx(before, rel=1e-5)
    np.testing.assert_allclose((new_in - w_in)[[context]] / -alpha, g_in, rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose((new_out - w_out)[targets] / -alpha, g_out, rtol=1e-3, atol=1e-5)
    untouched = [r for r in range(8) if r not in targets]
    assert np.array_equal(new_out[untouched], w_out[untouched])
    assert np.array_equal(np.delete(new_in, context, axis=0), np.delete(w_in, context, axis=0))
    assert sgns_loss(new_in, new_out, context, targets) < before


def test_cbow_step_matches_gradient_of_mean_context(mats: tuple[np.ndarray, np.ndarray]) -> None:
    w_in64, w_out64 = mats
    contexts, targets, alpha = [0, 4, 6], [2, 1, 7], 0.1
    w_in, w_out = w_in64.astype(np.float32), w_out64.astype(np.float32)
    before = cbow_loss(w_in, w_out, contexts, targets)
    g_in = numeric_grad(lambda: cbow_loss(w_in64, w_out64, contexts, targets), w_in64, contexts)
    g_out = numeric_grad(lambda: cbow_loss(w_in64, w_out64, contexts, targets), w_out64, targets)
    new_in, new_out = w_in.copy(), w_out.copy()
    reported = k.cbow_step(
        new_in,
        new_out,
        np.ones(8, np.float32),
        np.array(contexts, np.int32),
        len(contexts),
        np.array(targets, np.int32),
        len(targets),
        alpha,
        np.empty((1, 6), np.float32),
        np.empty(6, np.float32),
        np.empty(3, np.float32),
    )
    assert reported == pytest.approx(before, rel=1e-5)
    np.testing.assert_allclose((new_out - w_out)[targets] / -alpha, g_out, rtol=1e-3, atol=1e-5)
    # word2vec.c's convention: each context row receives the full error at the mean, i.e.
    # n_contexts times its own gradient (d hidden / d row = 1 / n_contexts).
    np.testing.assert_allclose((new_in - w_in)[contexts] / -alpha, g_in * len(contexts), rtol=1e-3, atol=1e-5)
    assert cbow_loss(new_in, new_out, contexts, targets) < before


def sg_window_loss(w_in: np.ndarray, w_out: np.ndarray, contexts: list[int], targets: list[int]) -> float:
    """A skip-gram window's loss: every context word predicts the same targets (shared negatives)."""
    return sum(sgns_loss(w_in, w_out, c, targets) for c in contexts)


@pytest.mark.parametrize(
    ("contexts", "targets"),
    [([0, 4, 6, 3], [2, 1, 7]), ([0, 4, 0, 5], [2, 1, 1, 7])],  # the second repeats a context and a negative
)
def test_batched_sg_window_step_is_minus_alpha_times_gradient(
    mats: tuple[np.ndarray, np.ndarray], contexts: list[int], targets: list[int]
) -> None:
    """The HogBatch update of a window equals -alpha times the numerical gradient of the window's
    summed loss, also when a word appears twice among the contexts or the negatives."""
    w_in64, w_out64 = mats
    alpha = 0.05
    w_in, w_out = w_in64.astype(np.float32), w_out64.astype(np.float32)
    before = sg_window_loss(w_in, w_out, contexts, targets)
    in_rows, out_rows = sorted(set(contexts)), sorted(set(targets))
    g_in = numeric_grad(lambda: sg_window_loss(w_in64, w_out64, contexts, targets), w_in64, in_rows)
    g_out = numeric_grad(lambda: sg_window_loss(w_in64, w_out64, contexts, targets), w_out64, out_rows)
    new_in, new_out = w_in.copy(), w_out.copy()
    reported = k.sg_window_step(
        new_in,
        new_out,
        np.ones(8, np.float32),
        np.array(contexts, np.int32),
        len(contexts),
        np.array(targets, np.int32),
        len(targets),
        alpha,
    )
    assert reported == pytest.approx(before, rel=1e-5)
    np.testing.assert_allclose((new_in - w_in)[in_rows] / -alpha, g_in, rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose((new_out - w_out)[out_rows] / -alpha, g_out, rtol=1e-3, atol=1e-5)
    untouched_out = [r for r in range(8) if r not in targets]
    untouched_in = [r for r in range(8) if r not in contexts]
    assert np.array_equal(new_out[untouched_out], w_out[untouched_out])
    assert np.array_equal(new_in[untouched_in], w_in[untouched_in])
    assert sg_window_loss(new_in, new_out, contexts, targets) < before


def test_sigmoid_table_is_accurate() -> None:
    x = np.linspace(-12, 12, 100_001)
    exact = 1 / (1 + np.exp(-x))
    approx = np.array([k.sigmoid(np.float32(v)) for v in x[::50]])
    assert np.max(np.abs(approx - exact[::50])) < 5e-4  # only beyond +-8, where it saturates
    inside = np.abs(x[::50]) < k.SIGMOID_RANGE
    assert np.max(np.abs(approx[inside] - exact[::50][inside])) < 1e-6


def test_alias_table_samples_unigram_to_the_075() -> None:
    counts = np.array([1000, 300, 50, 7, 1], dtype=np.int64)
    thresh, alias = alias_table(counts)
    # Exact distribution the table encodes.
    n = counts.size
    p = np.zeros(n)
    for j in range(n):
        keep = thresh[j] / 2**32
        p[j] += keep / n
        p[alias[j]] += (1 - keep) / n
    expected = counts**0.75 / (counts**0.75).sum()
    np.testing.assert_allclose(p, expected, rtol=1e-6)


def test_keep_thresholds_follow_word2vec_formula() -> None:
    counts = np.array([10_000, 1_000, 10], dtype=np.int64)
    keep = keep_thresholds(counts, 1e-3) / 2**32
    t = 1e-3 * counts.sum()
    expected = np.minimum((np.sqrt(counts / t) + 1) * t / counts, 1.0)
    np.testing.assert_allclose(keep, expected, rtol=1e-6)
    assert np.all(keep_thresholds(counts, 0) == 2**32)


@pytest.mark.parametrize(
    "kernel", [k.train_chunk_sg, k.train_chunk_sg_batched, k.train_chunk_cbow, k.train_chunk_cbow_batched]
)
def test_a_chunk_reads_the_config_record(kernel) -> None:  # type: ignore[no-untyped-def]
    """The chunk kernels take one KernelConfig and one Chunk: every word of the chunk is read, only
    the rows of its words move, and the same Chunk on the same start gives the same matrices."""
    rng = np.random.default_rng(4)
    n_words, dim = 12, 8
    sentences = [rng.integers(0, 8, size=int(rng.integers(2, 9))) for _ in range(30)]  # words 8-11 unused
    stream = np.concatenate([np.append(s, k.SENTENCE_END) for s in sentences]).astype(np.int32)
    counts = np.bincount(stream[stream >= 0], minlength=n_words).astype(np.int64) + 1
    thresh, alias = alias_table(counts)

    initial = np.random.default_rng(1).standard_normal((n_words, dim)).astype(np.float32) * 0.1

    def run(negative: int) -> tuple[tuple, np.ndarray, np.ndarray]:
        w_in, w_out = initial.copy(), np.zeros((n_words, dim), dtype=np.float32)
        lockf = np.ones(n_words, np.float32)
        config = k.KernelConfig(
            stream, w_in, w_out, keep_thresholds(counts, 0), thresh, alias, 3, negative, lockf
        )
        result = kernel(config, k.Chunk(0, stream.shape[0], 0.05, 0.01, np.uint64(k.mix_seed(7, 0, 0))))
        return result, w_in, w_out

    first, again, other = run(negative=2), run(negative=2), run(negative=4)
    words, kept, loss, examples = first[0]
    assert words == kept == int((stream >= 0).sum())  # sample 0 keeps every word
    assert examples > 0 and np.isfinite(loss) and loss > 0
    assert first[0] == again[0]
    assert first[1].tobytes() == again[1].tobytes() and first[2].tobytes() == again[2].tobytes()
    assert first[1].tobytes() != other[1].tobytes()  # `negative` comes from the record
    assert not np.array_equal(first[1][:8], initial[:8])
    assert np.array_equal(first[1][8:], initial[8:])  # unused words' input rows never move


def _step(
    kind: str,
    w_in: np.ndarray,
    w_out: np.ndarray,
    lockf: np.ndarray,
    contexts: list[int],
    targets: list[int],
    alpha: float,
) -> None:
    """One update of `kind` on float32 copies in place; skip-gram's per-pair step takes contexts[0]."""
    c, t = np.array(contexts, np.int32), np.array(targets, np.int32)
    dim = w_in.shape[1]
    if kind == "sgns":
        k.sgns_step(
            w_in,
            w_out,
            lockf,
            contexts[0],
            t,
            len(t),
            alpha,
            np.empty(dim, np.float32),
            np.empty(len(t), np.float32),
        )
    elif kind == "cbow":
        k.cbow_step(
            w_in,
            w_out,
            lockf,
            c,
            len(c),
            t,
            len(t),
            alpha,
            np.empty((1, dim), np.float32),
            np.empty(dim, np.float32),
            np.empty(len(t), np.float32),
        )
    elif kind == "cbow_group":  # one example: the centre in the middle of its contexts
        words = np.array([contexts[0], contexts[1], targets[0], *contexts[2:]], np.int32)
        k.cbow_group_step(
            w_in, w_out, lockf, words, np.array([2], np.int64), np.array([0], np.int64),
            np.array([len(words)], np.int64), t[1:], alpha,
        )  # fmt: skip
    else:
        k.sg_window_step(w_in, w_out, lockf, c, len(c), t, len(t), alpha)


@pytest.mark.parametrize("kind", ["sgns", "cbow", "sg_window", "cbow_group"])
def test_lock_factors_scale_the_input_rows_and_leave_the_output_layer_exact(
    mats: tuple[np.ndarray, np.ndarray], kind: str
) -> None:
    """gensim's vectors_lockf: each input row's step is its factor times the gradient step (a row
    with factor 0 stays bit for bit); the output rows still take the full gradient step."""
    w_in64, w_out64 = mats
    contexts = [0] if kind == "sgns" else [0, 4, 6]
    targets, alpha = [2, 1, 7], 0.05
    if kind == "sgns":
        loss = lambda: sgns_loss(w_in64, w_out64, contexts[0], targets)  # noqa: E731
    elif kind in ("cbow", "cbow_group"):
        loss = lambda: cbow_loss(w_in64, w_out64, contexts, targets)  # noqa: E731
    else:
        loss = lambda: sg_window_loss(w_in64, w_out64, contexts, targets)  # noqa: E731
    scale = len(contexts) if kind.startswith("cbow") else 1  # word2vec.c's full error at the mean (see above)
    g_in = numeric_grad(loss, w_in64, contexts) * scale
    g_out = numeric_grad(loss, w_out64, targets)
    w_in, w_out = w_in64.astype(np.float32), w_out64.astype(np.float32)
    factors = {0: 0.0, 4: 0.5, 6: 1.0} if kind != "sgns" else {0: 0.5}
    lockf = np.ones(8, np.float32)
    for row, f in factors.items():
        lockf[row] = f
    new_in, new_out = w_in.copy(), w_out.copy()
    _step(kind, new_in, new_out, lockf, contexts, targets, alpha)
    for a, row in enumerate(contexts):
        if factors[row] == 0.0:
            assert new_in[row].tobytes() == w_in[row].tobytes()  # locked: not a bit moves
        else:
            np.testing.assert_allclose(
                (new_in[row] - w_in[row]) / -alpha, factors[row] * g_in[a], rtol=1e-3, atol=1e-5
            )
    np.testing.assert_allclose((new_out - w_out)[targets] / -alpha, g_out, rtol=1e-3, atol=1e-5)
    # Locking some rows changes nothing else: with every factor 1, the rows of factor 1 and the
    # output layer come out the same bit for bit.
    ones_in, ones_out = w_in.copy(), w_out.copy()
    _step(kind, ones_in, ones_out, np.ones(8, np.float32), contexts, targets, alpha)
    assert ones_out.tobytes() == new_out.tobytes()
    full = [r for r, f in factors.items() if f == 1.0]
    assert ones_in[full].tobytes() == new_in[full].tobytes()
    assert not np.array_equal(ones_in[contexts], new_in[contexts])


@pytest.mark.parametrize(
    "kernel", [k.train_chunk_sg, k.train_chunk_sg_batched, k.train_chunk_cbow, k.train_chunk_cbow_batched]
)
def test_locked_rows_never_move_in_a_chunk(kernel) -> None:  # type: ignore[no-untyped-def]
    """Over a whole chunk, rows whose lock factor is 0 keep every bit; the others and the output
    layer train."""
    rng = np.random.default_rng(5)
    n_words, dim = 10, 8
    sentences = [rng.integers(0, n_words, size=int(rng.integers(3, 9))) for _ in range(40)]
    stream = np.concatenate([np.append(s, k.SENTENCE_END) for s in sentences]).astype(np.int32)
    counts = np.bincount(stream[stream >= 0], minlength=n_words).astype(np.int64) + 1
    thresh, alias = alias_table(counts)
    w_in = np.random.default_rng(1).standard_normal((n_words, dim)).astype(np.float32) * 0.1
    w_out = np.random.default_rng(2).standard_normal((n_words, dim)).astype(np.float32) * 0.1
    before_in, before_out = w_in.copy(), w_out.copy()
    lockf = np.ones(n_words, np.float32)
    lockf[:6] = 0.0
    config = k.KernelConfig(stream, w_in, w_out, keep_thresholds(counts, 0), thresh, alias, 3, 3, lockf)
    kernel(config, k.Chunk(0, stream.shape[0], 0.05, 0.01, np.uint64(k.mix_seed(3, 0, 0))))
    assert w_in[:6].tobytes() == before_in[:6].tobytes()
    assert not np.array_equal(w_in[6:], before_in[6:])
    assert not np.array_equal(w_out[:6], before_out[:6])  # locked words still train the output layer


def cbow_group_loss(
    w_in: np.ndarray, w_out: np.ndarray, words: list[int], centres: list[int], spans: list[tuple[int, int]],
    negatives: list[int],
) -> float:  # fmt: skip
    """A CBOW group's loss: example b predicts words[centres[b]] from the mean of words[lo:hi] (the
    centre left out) against the shared negatives, less those equal to its own centre word."""
    total = 0.0
    for c, (lo, hi) in zip(centres, spans, strict=True):
        contexts = [words[j] for j in range(lo, hi) if j != c]
        centre = words[c]
        total += cbow_loss(w_in, w_out, contexts, [centre] + [t for t in negatives if t != centre])
    return total


@pytest.mark.parametrize(
    ("words", "centres", "spans", "negatives"),
    [
        # four consecutive centres, shrunk windows of different radii, a word twice in the stretch
        ([0, 4, 6, 3, 5, 4, 1], [1, 2, 3, 4], [(0, 3), (0, 5), (2, 5), (1, 7)], [2, 7, 1]),
        # a negative drawn twice, and a negative that is one example's centre (left out of it only)
        ([3, 0, 5, 6, 2], [1, 2], [(0, 2), (0, 5)], [7, 5, 7, 0]),
    ],
)
def test_batched_cbow_group_step_is_minus_alpha_times_gradient(
    mats: tuple[np.ndarray, np.ndarray],
    words: list[int],
    centres: list[int],
    spans: list[tuple[int, int]],
    negatives: list[int],
) -> None:
    """The batched CBOW update of a group equals -alpha times the numerical gradient of the group's
    summed loss, with word2vec.c's convention that each context row takes the full error at its
    example's mean (n_contexts times its own gradient), summed over the examples that read it."""
    w_in64, w_out64 = mats
    alpha = 0.05
    w_in, w_out = w_in64.astype(np.float32), w_out64.astype(np.float32)
    before = cbow_group_loss(w_in, w_out, words, centres, spans, negatives)
    # The expected input step: per example, n_b times the gradient of its own loss.
    expected_in = np.zeros_like(w_in64)
    for c, (lo, hi) in zip(centres, spans, strict=True):
        rows = sorted({words[j] for j in range(lo, hi) if j != c})
        one = lambda c=c, lo=lo, hi=hi: cbow_group_loss(w_in64, w_out64, words, [c], [(lo, hi)], negatives)  # noqa: E731
        expected_in[rows] += (hi - lo - 1) * numeric_grad(one, w_in64, rows)
    out_rows = sorted({words[c] for c in centres} | set(negatives))
    g_out = numeric_grad(
        lambda: cbow_group_loss(w_in64, w_out64, words, centres, spans, negatives), w_out64, out_rows
    )
    new_in, new_out = w_in.copy(), w_out.copy()
    reported = k.cbow_group_step(
        new_in,
        new_out,
        np.ones(8, np.float32),
        np.array(words, np.int32),
        np.array(centres, np.int64),
        np.array([s[0] for s in spans], np.int64),
        np.array([s[1] for s in spans], np.int64),
        np.array(negatives, np.int32),
        alpha,
    )
    assert reported == pytest.approx(before, rel=1e-5)
    np.testing.assert_allclose((new_in - w_in) / -alpha, expected_in, rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose((new_out - w_out)[out_rows] / -alpha, g_out, rtol=1e-3, atol=1e-5)
    untouched_out = [r for r in range(8) if r not in out_rows]
    assert np.array_equal(new_out[untouched_out], w_out[untouched_out])
    assert cbow_group_loss(new_in, new_out, words, centres, spans, negatives) < before


def test_batched_cbow_group_of_one_is_cbow_step(mats: tuple[np.ndarray, np.ndarray]) -> None:
    """A group of one example is the per-example CBOW update (to float rounding)."""
    w_in64, w_out64 = mats
    w_in, w_out = w_in64.astype(np.float32), w_out64.astype(np.float32)
    words, negatives = [0, 4, 2, 6, 3], [1, 7, 5]
    a_in, a_out, b_in, b_out = w_in.copy(), w_out.copy(), w_in.copy(), w_out.copy()
    loss_a = k.cbow_group_step(
        a_in, a_out, np.ones(8, np.float32), np.array(words, np.int32), np.array([2], np.int64), np.array([0], np.int64),
        np.array([5], np.int64), np.array(negatives, np.int32), 0.1,
    )  # fmt: skip
    loss_b = k.cbow_step(
        b_in, b_out, np.ones(8, np.float32), np.array([0, 4, 6, 3], np.int32), 4, np.array([2, *negatives], np.int32), 4, 0.1,
        np.empty((1, 6), np.float32), np.empty(6, np.float32), np.empty(4, np.float32),
    )  # fmt: skip
    assert loss_a == pytest.approx(loss_b, rel=1e-6)
    np.testing.assert_allclose(a_in, b_in, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(a_out, b_out, rtol=1e-6, atol=1e-7)
    assert not np.array_equal(a_in, w_in)


@pytest.mark.parametrize("kernel", [k.train_chunk_sg_batched, k.train_chunk_cbow_batched])
def test_private_hot_rows_train_the_same_rows_on_one_thread(kernel) -> None:  # type: ignore[no-untyped-def]
    """With no other thread, a chunk that trains a private copy of the hottest output rows and
    merges it every HOT_MERGE_WORDS words and at its end gives the matrices of the in-place
    kernel, to float rounding."""
    rng = np.random.default_rng(5)
    n_words, dim = 10, 8
    sentences = [rng.integers(0, n_words, size=int(rng.integers(2, 12))) for _ in range(500)]
    assert sum(len(s) for s in sentences) > 2 * k.HOT_MERGE_WORDS  # merged within the chunk too
    stream = np.concatenate([np.append(s, k.SENTENCE_END) for s in sentences]).astype(np.int32)
    counts = np.bincount(stream[stream >= 0], minlength=n_words).astype(np.int64) + 1
    thresh, alias = alias_table(counts)
    initial = np.random.default_rng(2).standard_normal((n_words, dim)).astype(np.float32) * 0.1

    def run(hot_rows: int) -> tuple[np.ndarray, np.ndarray]:
        w_in, w_out = initial.copy(), np.zeros((n_words, dim), dtype=np.float32)
        config = k.KernelConfig(
            stream,
            w_in,
            w_out,
            keep_thresholds(counts, 0),
            thresh,
            alias,
            3,
            3,
            np.ones(n_words, np.float32),
            hot_rows,
        )
        kernel(config, k.Chunk(0, stream.shape[0], 0.05, 0.01, np.uint64(k.mix_seed(3, 0, 0))))
        return w_in, w_out

    in_place = run(0)
    assert np.abs(in_place[1]).max() > 0.01
    for hot_rows in (1, 4, n_words, 100):
        cached = run(hot_rows)
        np.testing.assert_allclose(cached[0], in_place[0], rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(cached[1], in_place[1], rtol=1e-4, atol=1e-6)


def test_merging_hot_rows_keeps_what_other_threads_wrote() -> None:
    """The merge adds the chunk's own change to the shared rows as they are now, so a change
    another thread made to a hot row meanwhile is kept; rows past the hot ones are never copied."""
    w_out = np.arange(12, dtype=np.float32).reshape(4, 3)
    hot, start = k._copy_hot_rows(w_out, 2)
    assert hot.shape == (2, 3) and np.array_equal(hot, w_out[:2])
    hot[0] += 1.0  # this chunk's update
    w_out[0, 0] += 5.0  # another thread's, meanwhile
    w_out[3] = -1.0
    k._merge_hot_rows(w_out, hot, start)
    np.testing.assert_array_equal(w_out[0], [0 + 5 + 1, 1 + 1, 2 + 1])
    np.testing.assert_array_equal(w_out[1], [3, 4, 5])
    np.testing.assert_array_equal(w_out[3], [-1, -1, -1])
    # ... and the private copy starts afresh from the shared rows
    assert np.array_equal(hot, w_out[:2]) and np.array_equal(start, w_out[:2])
