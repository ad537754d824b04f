"""The analogy evaluation beside lookups: its time and how long it keeps the GIL (issue 13, §3).

    .venv/bin/python bench/evaluation_gil.py [--model models/glove-6b-50d] [--restrict-vocab 30000]

An evaluation runs in a thread of the worker that serves lookups, so what matters besides its time
is how long it holds the GIL: the event loop gives the GIL up on every faiss search, socket write
and epoll, and waits for it back. Three evaluations of questions-words are measured in one run:
firth's evaluation.py as it was at --before-rev (loaded from git), firth's now, and gensim 4.4's
own evaluate_word_analogies (single-threaded BLAS, its best setting on this machine, as in
serve_bench.py). For each:

- wall time alone (firth: best of --runs);
- the GIL probe: the evaluation runs in a thread held to one core (numba and BLAS one thread each,
  so the probe's lateness is the GIL, not a busy CPU) while the main thread plays the event loop:
  sleep PROBE_SLEEP_MS with the GIL released, then want it back, again and again. How late each
  wake-up is (p50, p99, max; the share of the wall time spent waiting) is what a lookup would feel.
  An idle probe run gives the machine's own wake-up lateness, and the same probe beside the
  evaluation run on one core in another process (no GIL shared) the busy CPU's part: the GIL's
  part is the difference;
- with py-spy (on PATH, or --py-spy): the share of the evaluation's wall time in which its thread
  holds the GIL, from `py-spy record --gil` samples of a child process running it (--runs times).

The CPU is shared: read the figures as ratios within one run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba
import numpy as np
from gensim.models import KeyedVectors as GensimKeyedVectors
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from firth_core import evaluation  # noqa: E402
from firth_core.artifact import load_artifact  # noqa: E402
from firth_core.keyed_vectors import KeyedVectors  # noqa: E402

BEFORE_REV = "8cc413dd23ff65f4ed24389cd5881aa935756d7e"  # evaluation.py before the numpy guesses
BENCHMARK = "questions-words"
PROBE_SLEEP_MS = 1.0
PY_SPY_RATE = 250  # samples per second
MEASURED = "measured_runs"  # the child's function whose GIL-holding samples are counted
Evaluate = Callable[[], tuple[int, int]]  # one evaluation: (correct, incorrect)


def note(message: str) -> None:
    print(f"# {message}", file=sys.stderr, flush=True)


def evaluation_at(rev: str) -> types.ModuleType:
    """firth_core/evaluation.py as committed at `rev`, importable beside today's."""
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{rev}:firth_core/evaluation.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    module = types.ModuleType("firth_evaluation_before")
    module.__file__ = str(ROOT / "firth_core" / "evaluation.py")  # its DATA_DIR: today's data
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, f"{rev[:10]}:firth_core/evaluation.py", "exec"), module.__dict__)
    return module


def probe(seconds: float | None, done: threading.Event | None = None) -> np.ndarray:
    """Lateness (s) of each wake-up from a PROBE_SLEEP_MS sleep, for `seconds` or until `done`."""
    pause = PROBE_SLEEP_MS / 1000
    late: list[float] = []
    stop = time.perf_counter() + (seconds or float("inf"))
    while time.perf_counter() < stop and not (done is not None and done.is_set()):
        started = time.perf_counter()
        time.sleep(pause)  # the GIL is released here and must be taken back to go on
        late.append(time.perf_counter() - started - pause)
    return np.asarray(late)


def alone(run: Evaluate, runs: int) -> tuple[float, tuple[int, int]]:
    """Best wall time of `runs` runs, and the (correct, incorrect) of the last."""
    best = float("inf")
    counts = (0, 0)
    for _ in range(runs):
        started = time.perf_counter()
        counts = run()
        best = min(best, time.perf_counter() - started)
    return best, counts


def beside_probe(run: Evaluate) -> dict[str, float]:
    """One run in a thread while the main thread probes the GIL."""
    done = threading.Event()
    elapsed: list[float] = []

    def work() -> None:
        numba.set_num_threads(1)  # per thread: this one only
        with threadpool_limits(limits=1, user_api="blas"):
            started = time.perf_counter()
            run()
            elapsed.append(time.perf_counter() - started)
        done.set()

    thread = threading.Thread(target=work)
    started = time.perf_counter()
    thread.start()
    late = probe(None, done)
    thread.join()
    wall = time.perf_counter() - started
    return {"seconds": elapsed[0], **lateness(late, wall)}


def lateness(late: np.ndarray, wall: float) -> dict[str, float]:
    return {
        "p50_ms": float(np.percentile(late, 50)) * 1000,
        "p99_ms": float(np.percentile(late, 99)) * 1000,
        "max_ms": float(late.max()) * 1000,
        "waiting_pct": 100 * float(late.sum()) / wall,
    }


def gensim_model(kv: KeyedVectors) -> GensimKeyedVectors:
    theirs = GensimKeyedVectors(vector_size=kv.dim)
    theirs.add_vectors(list(kv.words), np.asarray(kv.vectors, dtype=np.float32))
    theirs.fill_norms()
    return theirs


def counts(result: dict[str, Any]) -> tuple[int, int]:
    return int(result["correct"]), int(result["incorrect"])


def table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    rule = "  ".join("-" * w for w in widths)
    print(f"\n{title}\n{rule}")
    for i, row in enumerate([header, *rows]):
        cells = (
            c.ljust(w) if j == 0 else c.rjust(w) for j, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        print("  ".join(cells))
        if i == 0:
            print(rule)


def evaluators(model_dir: str, restrict: int, before_rev: str) -> dict[str, Evaluate]:
    """The three evaluations (and firth's now from cold caches) on one loaded model."""
    artifact = load_artifact(model_dir)
    kv = KeyedVectors.from_artifact(artifact)
    before = evaluation_at(before_rev)
    questions_path = str(evaluation.BENCHMARKS[BENCHMARK][1])
    theirs: list[GensimKeyedVectors] = []  # built on first use: 400,000 words take a while

    def run_before() -> tuple[int, int]:
        return counts(before.evaluate_benchmark(kv, BENCHMARK, restrict_vocab=restrict))

    def run_now() -> tuple[int, int]:
        return counts(evaluation.evaluate_benchmark(kv, BENCHMARK, restrict_vocab=restrict))

    def run_now_cold() -> tuple[int, int]:
        evaluation._bundled_questions.cache_clear()  # the parsed benchmark, kept per process
        fresh = KeyedVectors.from_artifact(artifact, unit=kv.unit, norms=kv.norms)  # no ok_vocab yet
        return counts(evaluation.evaluate_benchmark(fresh, BENCHMARK, restrict_vocab=restrict))

    def run_gensim() -> tuple[int, int]:
        if not theirs:
            theirs.append(gensim_model(kv))
        with threadpool_limits(limits=1, user_api="blas"):
            _, sections = theirs[0].evaluate_word_analogies(questions_path, restrict_vocab=restrict)
        return len(sections[-1]["correct"]), len(sections[-1]["incorrect"])

    return {"before": run_before, "now": run_now, "now-cold": run_now_cold, "gensim": run_gensim}


def measured_runs(run: Evaluate, runs: int) -> float:
    """The child's timed runs (py-spy's samples inside this function are the ones counted)."""
    started = time.perf_counter()
    for _ in range(runs):
        run()
    return time.perf_counter() - started


def child(name: str, args: argparse.Namespace) -> None:
    run = evaluators(args.model, args.restrict_vocab, args.before_rev)[name]
    runs = 1 if name == "gensim" else args.runs
    if name != "gensim":
        run()  # numba's compiled code loaded, caches filled: the steady state a server is in
    if args.one_core:
        numba.set_num_threads(1)
        threadpool_limits(limits=1, user_api="blas")
    print("READY", flush=True)
    print("CHILD " + json.dumps({"seconds": measured_runs(run, runs), "runs": runs}), flush=True)


def child_command(name: str, args: argparse.Namespace) -> list[str]:
    command = [sys.executable, __file__, "--child", name, "--model", args.model, "--runs", str(args.runs)]
    return [*command, "--restrict-vocab", str(args.restrict_vocab), "--before-rev", args.before_rev]


def probe_beside_process(name: str, args: argparse.Namespace) -> dict[str, float]:
    """The probe while the evaluation runs on one core in another process: no GIL is shared, so
    this lateness is the busy CPU's alone (the control for `beside_probe`)."""
    with subprocess.Popen(
        [*child_command(name, args), "--one-core"], stdout=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout is not None
        while proc.stdout.readline().strip() != "READY":
            if proc.poll() is not None:
                raise SystemExit(f"the {name} evaluation process failed")
        started = time.perf_counter()
        late: list[float] = []
        pause = PROBE_SLEEP_MS / 1000
        while proc.poll() is None:
            tick = time.perf_counter()
            time.sleep(pause)
            late.append(time.perf_counter() - tick - pause)
        wall = time.perf_counter() - started
    return {f"cpu_{key}": value for key, value in lateness(np.asarray(late), wall).items()}


def gil_held(py_spy: str, name: str, args: argparse.Namespace) -> dict[str, float] | None:
    """Share of the wall time the evaluation's thread holds the GIL, from py-spy --gil samples."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "samples.txt"
        command = [py_spy, "record", "--gil", "--format", "raw", "-r", str(PY_SPY_RATE), "-o", str(raw)]
        command += ["--", *child_command(name, args)]
        done = subprocess.run(command, capture_output=True, text=True)
        reported = [line for line in done.stdout.splitlines() if line.startswith("CHILD ")]
        if done.returncode != 0 or not reported or not raw.is_file():
            note(f"py-spy for {name} failed: {done.stderr.strip()[-300:]}")
            return None
        child_figures = json.loads(reported[-1].removeprefix("CHILD "))
        samples = sum(
            int(line.rsplit(" ", 1)[1]) for line in raw.read_text().splitlines() if MEASURED in line
        )
    held = samples / PY_SPY_RATE
    return {"gil_pct": 100 * held / child_figures["seconds"], "gil_s": held / child_figures["runs"]}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default=str(ROOT / "models" / "glove-6b-50d"))
    parser.add_argument("--restrict-vocab", type=int, default=30_000)
    parser.add_argument("--runs", type=int, default=3, help="firth runs alone (the best is reported)")
    parser.add_argument("--before-rev", default=BEFORE_REV, help="git revision of the 'before' evaluation.py")
    parser.add_argument("--py-spy", default=shutil.which("py-spy"), help="py-spy binary (default: on PATH)")
    parser.add_argument("--child", choices=["before", "now", "gensim"], help=argparse.SUPPRESS)
    parser.add_argument("--one-core", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args)
        return

    note(f"loading {args.model} ...")
    runs = evaluators(args.model, args.restrict_vocab, args.before_rev)
    note("warming up numba ...")
    runs["now"]()
    idle = lateness(probe(2.0), 2.0)
    figures: dict[str, dict[str, Any]] = {}
    for name, times in [("before", args.runs), ("now", args.runs), ("gensim", 1)]:
        note(f"{name}: alone ...")
        seconds, result = alone(runs[name], times)
        note(f"{name}: beside the GIL probe ...")
        figures[name] = {"alone": seconds, "counts": result, **beside_probe(runs[name])}
        note(f"{name}: in another process beside the probe ...")
        figures[name].update(probe_beside_process(name, args))
        if args.py_spy:
            note(f"{name}: under py-spy --gil ...")
            figures[name].update(gil_held(args.py_spy, name, args) or {})
    cold, cold_counts = alone(runs["now-cold"], 1)
    report(args, figures, idle, cold, cold_counts)


def report(
    args: argparse.Namespace,
    figures: dict[str, dict[str, Any]],
    idle: dict[str, float],
    cold: float,
    cold_counts: tuple[int, int],
) -> None:
    columns = [figures[name] for name in ("before", "now", "gensim")]
    same = all(f["counts"] == cold_counts for f in columns)

    def row(label: str, key: str, digits: int) -> list[str]:
        if any(key not in f for f in columns):
            return [label, "-", "-", "-", "-", "-"]
        before, now, gensim = (f[key] for f in columns)
        ratios = [f"{x / now:.2f}x" if now > 0 else "-" for x in (before, gensim)]
        return [label, *(f"{f[key]:.{digits}f}" for f in columns), *ratios]

    print(
        f"\nquestions-words on {Path(args.model).name}, restrict_vocab={args.restrict_vocab}; before = "
        f"evaluation.py at {args.before_rev[:10]}; shared CPU: compare within a run"
    )
    table(
        "Analogy evaluation: time, and the GIL it holds",
        ["figure", "firth before", "firth now", "gensim 4.4", "before/now", "gensim/now"],
        [
            row(f"wall time alone, s (firth: best of {args.runs})", "alone", 2),
            row("GIL held, % of wall time (py-spy --gil)", "gil_pct", 1),
            row("GIL held per evaluation, s (py-spy --gil)", "gil_s", 3),
            row("on one core beside the probe: wall time, s", "seconds", 2),
            row("probe wake-up late p50, ms", "p50_ms", 2),
            row("probe wake-up late p99, ms", "p99_ms", 2),
            row("probe wake-up late max, ms", "max_ms", 1),
            row("share of the time the probe waited, %", "waiting_pct", 1),
            row("control, evaluation in another process: late p99, ms", "cpu_p99_ms", 2),
            row("control: share of the time the probe waited, %", "cpu_waiting_pct", 1),
            [
                "correct / incorrect",
                *(f"{f['counts'][0]}/{f['counts'][1]}" for f in columns),
                "identical" if same else "DIFFERENT",
                "",
            ],
        ],
    )
    print(
        f"\nfirth now, first call in a process (benchmark parsed, ok_vocab built): {cold:.2f} s"
        f"\nidle probe (no evaluation): late p50 {idle['p50_ms']:.2f} ms, p99 {idle['p99_ms']:.2f} ms, "
        f"max {idle['max_ms']:.1f} ms; probe: the main thread sleeps {PROBE_SLEEP_MS:g} ms, then wants the GIL"
    )
    if not same:
        sys.exit("results differ")


if __name__ == "__main__":
    main()
