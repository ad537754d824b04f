"""Intrinsic evaluation with gensim's accounting, fast: the bundled benchmarks, their names,
the scoring, and the one-line summary the CLI prints (`firth evaluate` and `firth train
--evaluate` are thin shells over this module; the service's /evaluate calls it too).

- `evaluate_word_analogies`: gensim's `evaluate_word_analogies` (3CosAdd, restrict_vocab 300000,
  case-insensitive, questions with out-of-vocabulary words skipped and counted), answered for
  all questions at once by a tiled kernel (firth_core/analogy_kernel.py), then re-scored exactly
  as gensim scores its top candidates, so the accuracy is gensim's. It runs beside lookups in a
  worker, so it keeps the GIL little: a benchmark is parsed once into arrays of word indices
  (firth_core/analogy_questions.py; the bundled ones once per process), ok_vocab is built once
  per model (firth_core/ok_vocab.py), and each question's guess is chosen with numpy over its
  ranked candidates (`choose_guesses`), words compared by canonical row instead of by string.
- `evaluate_word_pairs`: Pearson and Spearman against human scores, with gensim's OOV ratio.
- `subwords=True` (a subword model): the figures again with the out-of-vocabulary words given
  their n-gram vectors (`KeyedVectors.resolve` on the word as the file spells it), reported under
  `result["subwords"]` beside gensim's figures, which skip them as gensim does on a
  FastTextKeyedVectors. A question whose expected word is outside the vocabulary stays wrong
  (an answer is always a vocabulary word).

The three public sets ship in firth_core/data/ (see the attribution lines at their top).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from firth_core.analogy_questions import AnalogyQuestions, parse_analogies
from firth_core.cancellation import checkpoint
from firth_core.errors import FirthError, InputFormatError, InvalidQuery, UnknownWord
from firth_core.keyed_vectors import KeyedVectors
from firth_core.ok_vocab import OkVocab, ok_vocab
from firth_core.query import Query, nearest, word_means

DATA_DIR = Path(__file__).parent / "data"
BenchmarkKind = Literal["analogies", "pairs"]
BENCHMARKS: dict[str, tuple[BenchmarkKind, Path]] = {
    "questions-words": ("analogies", DATA_DIR / "questions-words.txt"),
    "wordsim353": ("pairs", DATA_DIR / "wordsim353.tsv"),
    "simlex999": ("pairs", DATA_DIR / "simlex999.txt"),
}
BENCHMARK_NAMES = tuple(BENCHMARKS)
GENSIM_RESTRICT_VOCAB = 300_000  # gensim's default for both evaluations
ANALOGY_TOPN = 5  # gensim asks most_similar for 5 answers and takes the first not in the question
_RESCORE_BYTES = 32 * 1024 * 1024  # scratch for re-scoring candidates, per block of questions
_CANDIDATE_MARGIN = 4  # extra candidates so float rounding in the fast pass cannot hide gensim's pick


@dataclass(frozen=True)
class _OovQuestion:
    """A question with a word outside ok_vocab, for the subwords option: its keys and spellings."""

    section: int
    keys: tuple[str, ...]  # a, b, c, expected as compared (upper-cased if case-insensitive)
    spelled: tuple[str, ...]  # as the file spells them (for their n-gram vectors)


def _benchmark_vocab(
    kv: KeyedVectors, restrict_vocab: int, case_insensitive: bool, subwords: bool
) -> OkVocab:
    """gensim's ok_vocab for an evaluation, after checking that `subwords` can apply."""
    if subwords and kv.subwords is None:
        raise InvalidQuery(
            "subwords applies to a subword (fastText) model; this model has no n-grams, so its "
            "out-of-vocabulary words have no vectors (use dummy4unknown to count them)"
        )
    return ok_vocab(kv, restrict_vocab, case_insensitive)


def _unit_for(kv: KeyedVectors, vocab: OkVocab, key: str, spelled: str) -> np.ndarray | None:
    """A benchmark word's unit vector: its row among the first restrict_vocab words, else its
    n-gram (or full) vector from `resolve`; None when it has neither."""
    row = vocab.row(key)
    if row is not None:
        return kv.unit[row]
    try:
        return kv.resolve(spelled).unit
    except UnknownWord:
        return None


def _read_lines(path: str | Path) -> list[str]:
    try:
        return Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFormatError(f"{path}: cannot read ({exc.__class__.__name__})") from None


MAX_FILE_LINES = 1_000_000  # a user's evaluation file (questions-words has 19,544 lines)
MAX_LINE_CHARS = 1 << 16  # a question or a word pair is a few words


def _read_user_lines(path: str | Path) -> list[str]:
    """A user's evaluation file, read a line at a time within bounds: binary data (a sparse file,
    /dev/zero, a FIFO of zeros), a line without end or an endless stream ends in one error at
    once instead of being read whole into memory. A FIFO or `<(...)` is read like a file."""
    lines: list[str] = []
    try:
        with open(path, encoding="utf-8") as handle:
            for line_no in range(1, MAX_FILE_LINES + 2):
                line = handle.readline(MAX_LINE_CHARS + 1)
                if not line:
                    return lines
                if "\0" in line:
                    raise InputFormatError(
                        f"{path}: line {line_no} holds NUL bytes (binary data, not an evaluation file)"
                    )
                if len(line) > MAX_LINE_CHARS:
                    raise InputFormatError(
                        f"{path}: line {line_no} is longer than {MAX_LINE_CHARS:,} characters (not an evaluation file?)"
                    )
                if line_no > MAX_FILE_LINES:
                    raise InputFormatError(
                        f"{path}: more than {MAX_FILE_LINES:,} lines (not an evaluation file?)"
                    )
                lines.extend(line.splitlines())  # as str.splitlines() of the whole text
    except FileNotFoundError:
        raise InputFormatError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputFormatError(f"{path}: is a directory, not an evaluation file") from None
    except UnicodeDecodeError:
        raise InputFormatError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise InputFormatError(f"{path}: cannot read ({exc.strerror or exc.__class__.__name__})") from None
    return lines


@lru_cache(maxsize=len(BENCHMARKS))
def _bundled_questions(name: str) -> AnalogyQuestions:
    """A bundled analogy benchmark, parsed once per process (its arrays are read-only)."""
    return parse_analogies(_read_lines(BENCHMARKS[name][1]))


def _keys(words: Sequence[str], case_insensitive: bool) -> list[str]:
    return [w.upper() for w in words] if case_insensitive else list(words)


def evaluate_word_analogies(
    kv: KeyedVectors,
    lines: Iterable[str],
    restrict_vocab: int = GENSIM_RESTRICT_VOCAB,
    case_insensitive: bool = True,
    dummy4unknown: bool = False,
    subwords: bool = False,
) -> dict[str, Any]:
    _benchmark_vocab(kv, restrict_vocab, case_insensitive, subwords)  # its error before the lines' (cached)
    return score_analogies(
        kv, parse_analogies(lines), restrict_vocab, case_insensitive, dummy4unknown, subwords
    )


def score_analogies(
    kv: KeyedVectors,
    questions: AnalogyQuestions,
    restrict_vocab: int = GENSIM_RESTRICT_VOCAB,
    case_insensitive: bool = True,
    dummy4unknown: bool = False,
    subwords: bool = False,
) -> dict[str, Any]:
    """gensim's evaluate_word_analogies figures for parsed questions (see the module docstring)."""
    started = time.perf_counter()
    vocab = _benchmark_vocab(kv, restrict_vocab, case_insensitive, subwords)
    if len(questions) == 0:
        raise InputFormatError("no analogy questions found (expected lines 'a b c d' under ': section')")
    keys = _keys(questions.words, case_insensitive)
    rows = vocab.rows(keys)[questions.ids]  # (questions, 4) ok_vocab rows, -1 outside it
    known = (rows >= 0).all(axis=1)
    n_sections = len(questions.sections)

    correct = np.zeros(n_sections, dtype=np.int64)
    incorrect = np.zeros(n_sections, dtype=np.int64)
    if known.any():
        asked = rows[known]
        right = _predict(kv, asked[:, :3], vocab, restrict_vocab) == asked[:, 3]
        sections = questions.section_of[known]
        correct = np.bincount(sections[right], minlength=n_sections)
        incorrect = np.bincount(sections[~right], minlength=n_sections)
    with_subwords: dict[str, Any] | None = None
    if subwords:
        right_sw, wrong_sw = correct.copy(), incorrect.copy()
        oov_questions = [
            _OovQuestion(
                int(questions.section_of[q]),
                tuple(keys[i] for i in questions.ids[q]),
                tuple(questions.words[i] for i in questions.ids[q]),
            )
            for q in np.flatnonzero(~known)
        ]
        unanswered = _answer_with_subwords(kv, oov_questions, vocab, restrict_vocab, right_sw, wrong_sw)
        with_subwords = {
            **_analogy_figures(questions.sections, right_sw, wrong_sw),
            "oov_answered": len(oov_questions) - unanswered,
            "no_vector": unanswered,
        }
    oov = int(np.count_nonzero(~known))
    if dummy4unknown:
        incorrect = incorrect + np.bincount(questions.section_of[~known], minlength=n_sections)

    result = {
        "kind": "analogies",
        **_analogy_figures(questions.sections, correct, incorrect),
        "questions": len(questions),
        "oov": oov,
        "oov_ratio": 100.0 * oov / len(questions),
    }
    return _closed(result, questions.invalid, restrict_vocab, case_insensitive, with_subwords, started)


def _closed(
    result: dict[str, Any],
    invalid: int,
    restrict_vocab: int,
    case_insensitive: bool,
    with_subwords: dict[str, Any] | None,
    started: float,
) -> dict[str, Any]:
    """`result` with the fields every evaluation ends with: the lines skipped, the vocabulary
    settings, the figures with subwords (when asked) and the time taken."""
    result.update(invalid_lines=invalid, restrict_vocab=restrict_vocab, case_insensitive=case_insensitive)
    if with_subwords is not None:
        result["subwords"] = with_subwords
    result["seconds"] = time.perf_counter() - started
    return result


def _analogy_figures(sections: Sequence[str], correct: np.ndarray, incorrect: np.ndarray) -> dict[str, Any]:
    def score(right: int, wrong: int) -> float:
        return right / (right + wrong) if right + wrong else 0.0

    right, wrong = int(correct.sum()), int(incorrect.sum())
    return {
        "score": score(right, wrong),
        "correct": right,
        "incorrect": wrong,
        "sections": [
            {"section": name, "correct": int(r), "incorrect": int(w), "score": score(int(r), int(w))}
            for name, r, w in zip(sections, correct, incorrect, strict=True)
        ],
    }


def _answer_with_subwords(
    kv: KeyedVectors,
    questions: list[_OovQuestion],
    vocab: OkVocab,
    restrict_vocab: int,
    correct: np.ndarray,
    incorrect: np.ndarray,
) -> int:
    """Score the out-of-vocabulary questions with n-gram vectors for their unknown words, as
    gensim's most_similar(positive=[b, c], negative=[a], topn=5) answers on a FastTextKeyedVectors
    (the words in the vocabulary left out of the answers, the others in no index); count them into
    `correct` / `incorrect` and return how many had a word without any vector (left out)."""
    restrict = min(restrict_vocab, len(kv))
    asked: list[tuple[_OovQuestion, Query]] = []
    unanswered = 0
    for q in questions:
        if vocab.row(q.keys[3]) is None:  # an answer is a vocabulary word: it can never be right
            incorrect[q.section] += 1
            continue
        units = [
            _unit_for(kv, vocab, key, spelled) for key, spelled in zip(q.keys[:3], q.spelled[:3], strict=True)
        ]
        if any(u is None for u in units):
            unanswered += 1
            continue
        a, b, c = (np.asarray(u, dtype=np.float32) for u in units)
        mean = (b + c - a) / np.float32(3.0)  # build_query's weighted mean, weights +1, +1, -1
        norm = float(np.linalg.norm(mean.astype(np.float64)))
        if norm == 0.0:
            incorrect[q.section] += 1
            continue
        known_rows = (vocab.row(key) for key in q.keys[:3])
        exclude = tuple(dict.fromkeys(row for row in known_rows if row is not None))
        asked.append((q, Query((mean / norm).astype(np.float32), exclude, len(kv))))
    if asked:
        ks = [ANALOGY_TOPN] * len(asked)
        restrict_or_none = restrict if restrict < len(kv) else None
        answers = nearest(
            [query for _, query in asked], ks, kv.exact_search, kv.exact_search, restrict_or_none
        )
        ranked = np.full((len(asked), ANALOGY_TOPN), -1, dtype=np.int64)  # the hits, -1 padded
        for i, answer in enumerate(answers):
            ranked[i, : len(answer.hits)] = [row for row, _ in answer.hits]
        # -2 for a word outside ok_vocab: its key is no vocabulary word's, so no hit can equal it
        question_rows = vocab.rows([key for q, _ in asked for key in q.keys]).reshape(-1, 4)
        question_rows[question_rows < 0] = -2
        no_exclusions = np.empty((len(asked), 0), dtype=np.int64)  # nearest left them out already
        guesses = choose_guesses(ranked, no_exclusions, question_rows[:, :3], vocab.canonical)
        for (q, _), guess, expected in zip(asked, guesses, question_rows[:, 3], strict=True):
            if guess == expected:
                correct[q.section] += 1
            else:
                incorrect[q.section] += 1
    return unanswered


def _predict(kv: KeyedVectors, abc: np.ndarray, vocab: OkVocab, restrict_vocab: int) -> np.ndarray:
    """The canonical row of gensim's answer to each question (rows a, b, c of `abc`), -1 for none."""
    unit = kv.unit[:restrict_vocab]
    ranked = _ranked_candidates(unit, abc[:, 0], abc[:, 1], abc[:, 2])
    return choose_guesses(ranked, abc, abc, vocab.canonical)


def _ranked_candidates(unit: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Each question's best ANALOGY_TOPN + 3 rows by 3CosAdd, best first, ranked as gensim's
    most_similar ranks them (-1 pads a vocabulary too small to fill them)."""
    from firth_core.analogy_kernel import analogy_candidates  # numba: imported only when needed

    fetch = ANALOGY_TOPN + 3  # over-fetch past the three question words, as gensim does
    candidates = analogy_candidates(unit, a, b, c, k=min(fetch + _CANDIDATE_MARGIN, unit.shape[0]))
    # Re-score the candidates the way gensim scores every word: cosine with the query (+b, +c, -a).
    queries = word_means(unit, positive=np.stack([b, c], axis=1), negative=a[:, None])
    valid = candidates >= 0
    safe = np.where(valid, candidates, 0)
    # the gathered candidate vectors, a block of questions at a time: bounded scratch memory
    block = max(1, _RESCORE_BYTES // (4 * unit.shape[1] * max(1, safe.shape[1])))
    scores = np.empty(safe.shape, dtype=np.result_type(unit, queries))
    for start in range(0, len(a), block):
        checkpoint()
        rows = slice(start, start + block)
        scores[rows] = np.einsum("qkd,qd->qk", unit[safe[rows]], queries[rows])
    scores = np.where(valid, scores, -np.inf)
    order = np.argsort(-scores, axis=1, kind="stable")[:, :fetch]
    return np.take_along_axis(np.where(valid, candidates, -1), order, axis=1)


def choose_guesses(
    ranked: np.ndarray, excluded: np.ndarray, question: np.ndarray, canonical: np.ndarray
) -> np.ndarray:
    """gensim's pick from each question's ranked rows, as the canonical row of the word picked.

    most_similar leaves out the rows in `excluded` (and -1 padding) and returns the first
    ANALOGY_TOPN; the guess is the first whose word is none of the question's words (compared by
    key, so by canonical row: `question`), else the last one returned; -1 when none is returned.
    Shapes: ranked (n, m), excluded (n, e), question (n, 3); `canonical` covers every ranked row.
    """
    hit = (ranked >= 0) & ~_any_equal(ranked, excluded)
    returned = hit & (np.cumsum(hit, axis=1) <= ANALOGY_TOPN)
    words = np.where(hit, canonical[np.where(hit, ranked, 0)], -1)
    qualifies = returned & ~_any_equal(words, question)
    last = ranked.shape[1] - 1 - np.argmax(returned[:, ::-1], axis=1)
    pick = np.where(qualifies.any(axis=1), np.argmax(qualifies, axis=1), last)
    guess = np.take_along_axis(words, pick[:, None], axis=1)[:, 0]
    return np.where(returned.any(axis=1), guess, -1)


def _any_equal(values: np.ndarray, among: np.ndarray) -> np.ndarray:
    """(n, m) mask: values[i, j] equals one of among[i, :]."""
    return (values[:, :, None] == among[:, None, :]).any(axis=2)


def evaluate_word_pairs(
    kv: KeyedVectors,
    lines: Iterable[str],
    restrict_vocab: int = GENSIM_RESTRICT_VOCAB,
    case_insensitive: bool = True,
    dummy4unknown: bool = False,
    delimiter: str = "\t",
    subwords: bool = False,
) -> dict[str, Any]:
    started = time.perf_counter()
    vocab = _benchmark_vocab(kv, restrict_vocab, case_insensitive, subwords)
    gold: list[float] = []
    model: list[float] = []
    known: list[tuple[float, float]] = []  # the in-vocabulary pairs' (human, model) scores
    oov_pairs: list[tuple[float, str, str, str, str]] = []  # human score, keys, spellings
    oov = invalid = 0
    for raw in lines:
        line = raw.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        fields = line.split(delimiter)
        try:
            if len(fields) != 3:
                raise ValueError
            a, b = (f.upper() for f in fields[:2]) if case_insensitive else fields[:2]
            human = float(fields[2])
        except ValueError:
            invalid += 1
            continue
        row_a, row_b = vocab.row(a), vocab.row(b)
        if row_a is None or row_b is None:
            oov += 1
            oov_pairs.append((human, a, b, fields[0], fields[1]))
            if dummy4unknown:
                gold.append(human)
                model.append(0.0)
            continue
        gold.append(human)
        model.append(float(kv.unit[row_a] @ kv.unit[row_b]))
        known.append((human, model[-1]))
    with_subwords: dict[str, Any] | None = None
    if subwords:
        with_subwords = _pairs_with_subwords(kv, vocab, known, oov_pairs)
    if len(gold) < 2:
        raise InvalidQuery("fewer than two word pairs are in the vocabulary: no correlation to compute")
    oov_ratio = 100.0 * oov / (len(gold) if dummy4unknown else len(gold) + oov)
    result = {
        "kind": "pairs",
        **_correlations(gold, model),
        "pairs": len(gold) + (0 if dummy4unknown else oov),
        "oov": oov,
        "oov_ratio": oov_ratio,
    }
    return _closed(result, invalid, restrict_vocab, case_insensitive, with_subwords, started)


def _correlations(gold: list[float], model: list[float]) -> dict[str, float]:
    from scipy import stats  # imported only when needed: keeps service start-up fast

    with warnings.catch_warnings():
        # Constant scores have no correlation: NaN (null in JSON), as gensim reports it, not a warning.
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        warnings.simplefilter("ignore", stats.NearConstantInputWarning)
        pearson = stats.pearsonr(gold, model)
        spearman = stats.spearmanr(gold, model)
    return {
        "pearson": float(pearson[0]),
        "pearson_pvalue": float(pearson[1]),
        "spearman": float(spearman[0]),
        "spearman_pvalue": float(spearman[1]),
    }


def _pairs_with_subwords(
    kv: KeyedVectors,
    vocab: OkVocab,
    known: list[tuple[float, float]],
    oov_pairs: list[tuple[float, str, str, str, str]],
) -> dict[str, Any]:
    """The correlations with every out-of-vocabulary pair scored by its n-gram vectors (as gensim's
    FastTextKeyedVectors.similarity scores it), and on those pairs alone."""
    gold = [g for g, _ in known]
    model = [m for _, m in known]
    oov_gold: list[float] = []
    oov_model: list[float] = []
    no_vector = 0
    for human, a, b, spelled_a, spelled_b in oov_pairs:
        unit_a = _unit_for(kv, vocab, a, spelled_a)
        unit_b = _unit_for(kv, vocab, b, spelled_b)
        if unit_a is None or unit_b is None:
            no_vector += 1
            continue
        oov_gold.append(human)
        oov_model.append(float(unit_a @ unit_b))
    if len(gold) + len(oov_gold) < 2:
        raise InvalidQuery("fewer than two word pairs have vectors: no correlation to compute")
    result: dict[str, Any] = {
        **_correlations(gold + oov_gold, model + oov_model),
        "pairs": len(gold) + len(oov_gold),
        "oov_scored": len(oov_gold),
        "no_vector": no_vector,
    }
    # the recovered pairs on their own (null when there are too few to correlate)
    result["oov_spearman"] = _correlations(oov_gold, oov_model)["spearman"] if len(oov_gold) >= 3 else None
    return result


def evaluate_lines(
    kv: KeyedVectors, kind: BenchmarkKind, lines: Iterable[str], **options: Any
) -> dict[str, Any]:
    if kind == "analogies":
        return evaluate_word_analogies(kv, lines, **options)
    return evaluate_word_pairs(kv, lines, **options)


def evaluate_benchmark(kv: KeyedVectors, name: str, **options: Any) -> dict[str, Any]:
    """Evaluate on a bundled benchmark: questions-words, wordsim353 or simlex999."""
    if name not in BENCHMARKS:
        raise InvalidQuery(f"unknown benchmark {name!r}; choose one of {sorted(BENCHMARKS)}")
    kind, path = BENCHMARKS[name]
    if kind == "analogies":
        return {"benchmark": name, **score_analogies(kv, _bundled_questions(name), **options)}
    return {"benchmark": name, **evaluate_word_pairs(kv, _read_lines(path), **options)}


def evaluate_file(
    kv: KeyedVectors, path: str | Path, kind: BenchmarkKind | None = None, **options: Any
) -> dict[str, Any]:
    """Evaluate on a user's file in the questions-words or word-pair (tab-separated) format;
    without a kind, a file with ': section' lines holds analogies, any other word pairs."""
    lines = _read_user_lines(path)
    kind = kind or guess_kind(lines)
    return {"benchmark": str(path), **evaluate_lines(kv, kind, lines, **options)}


def guess_kind(lines: Iterable[str]) -> BenchmarkKind:
    """Analogies when a line opens a ': section' (the questions-words format), else word pairs."""
    return "analogies" if any(line.startswith(": ") for line in lines) else "pairs"


def evaluate_all(
    kv: KeyedVectors, names: Iterable[str] = BENCHMARK_NAMES, **options: Any
) -> dict[str, dict[str, Any]]:
    """Every named benchmark's result; one that cannot be scored on this vocabulary (a small model
    may know too few of its words) is recorded with its reason instead of failing the whole run."""
    results: dict[str, dict[str, Any]] = {}
    for name in names:
        try:
            results[name] = evaluate_benchmark(kv, name, **options)
        except FirthError as exc:
            results[name] = {"benchmark": name, "error": str(exc)}
    return results


def summary(name: str, result: dict[str, Any]) -> str:
    """One line a result: accuracy for analogies, Spearman / Pearson for word pairs; with
    `subwords`, the same figures with n-gram vectors for the unknown words follow gensim's."""
    if "error" in result:
        return f"{name}: not scored ({result['error']})"
    analogies = result.get("kind") == "analogies"
    figures, counted = _accuracy(result) if analogies else _correlation(result)
    if analogies:
        skipped = f"{result['oov']} of {result['questions']} skipped as out of vocabulary"
    else:
        skipped = f"{result['oov_ratio']:.1f}% out of vocabulary"
    line = f"{name}: {figures} ({counted}, {skipped})"
    if "subwords" in result:
        with_ngrams = result["subwords"]
        figures, counted = _accuracy(with_ngrams) if analogies else _correlation(with_ngrams)
        line += f"; with subword vectors for them: {figures} ({counted}, {with_ngrams['no_vector']} without any n-gram)"
    return line


def _accuracy(figures: dict[str, Any]) -> tuple[str, str]:
    answered = figures["correct"] + figures["incorrect"]
    return f"accuracy {figures['score']:.4f}", f"{figures['correct']} of {answered} answered"


def _correlation(figures: dict[str, Any]) -> tuple[str, str]:
    return (
        f"Spearman {figures['spearman']:.4f}, Pearson {figures['pearson']:.4f}",
        f"{figures['pairs']} pairs",
    )
