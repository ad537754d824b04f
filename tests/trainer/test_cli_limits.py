"""The `firth` command line at its limits, through the real console script: sizes that cannot fit,
endless or binary input, a full disk, SIGTERM, and a run that trains nothing. Each ends as one line
(exit status 2; 143 for SIGTERM), leaves no model and no work files. Devices, FIFOs and the small
tmpfs are made in the test's own directory; no system path is touched."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from firth_trainer.cli import main
from tests.cli_process import char_device, firth, firth_script, one_error_line

sys.path.insert(0, str(Path(__file__).parent))
from conftest import write_corpus


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """The --tmp-dir of a run: empty again after every run, whatever happened."""
    path = tmp_path / "work"
    path.mkdir()
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("corpus") / "planted.txt", n=4000)


def many_words(path: Path, n: int = 2000) -> Path:
    path.write_text(" ".join(f"w{i}" for i in range(n)) + "\n")
    return path


# --- sizes that cannot fit -------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["sgns", "glove"])
def test_a_dimension_too_large_for_memory_is_one_line(tmp_path: Path, work: Path, algorithm: str) -> None:
    corpus = many_words(tmp_path / "c.txt")  # 2,000 words x 10^8 dims: 800 GB and more
    out = tmp_path / "m"
    started = time.monotonic()
    done = firth(
        "train", "--corpus", corpus, "--out", out, "--dim", "100000000", "--min-count", "1",
        "--algorithm", algorithm, "-q", "--tmp-dir", work,
    )  # fmt: skip
    err = one_error_line(done, "train")
    assert f"2,000 words x 100,000,000 dimensions ({algorithm}) need" in err
    assert "GiB of memory" in err and "lower --dim" in err
    assert time.monotonic() - started < 60
    assert not out.exists() and list(work.iterdir()) == []


@pytest.mark.parametrize(
    ("header", "body", "message"),
    [
        ("3 1000000000", "a 1 2\n", "line 1: dimension 1,000,000,000 is over firth's limit of 1,000,000"),
        ("1000000000000 2", "a 1 2\nb 3 4\n", "file ends after 2 vectors, the header says 1000000000000"),
    ],
    ids=["dim 10^9", "rows beyond the file"],
)
def test_an_import_header_claiming_too_much_is_one_line(
    tmp_path: Path, header: str, body: str, message: str
) -> None:
    src = tmp_path / "v.txt"
    src.write_text(f"{header}\n{body}")
    started = time.monotonic()
    err = one_error_line(firth("import", "word2vec", src, "--out", tmp_path / "m", "--quiet"), "import")
    assert message in err
    assert time.monotonic() - started < 30
    assert not (tmp_path / "m").exists()


def test_binary_rows_beyond_the_file_are_one_line(tmp_path: Path) -> None:
    src = tmp_path / "v.bin"
    src.write_bytes(b"1000000000000 2\na " + b"\x00\x00\x80?\x00\x00\x00@")
    err = one_error_line(firth("import", "word2vec", src, "--out", tmp_path / "m", "--binary"), "import")
    assert "file ends after 1 vectors, the header says 1000000000000" in err


# --- endless or binary input -----------------------------------------------------------------------


@pytest.fixture
def zero_device(tmp_path: Path) -> Path:
    return char_device(tmp_path / "zero", 1, 5)  # /dev/zero's numbers, made here


@contextlib.contextmanager
def fed_fifo(path: Path, chunk: bytes) -> Iterator[Path]:
    """A FIFO that a thread fills with `chunk` over and over until the reader goes away."""
    os.mkfifo(path)

    def feed() -> None:
        with contextlib.suppress(BrokenPipeError, OSError), open(path, "wb") as pipe:
            while True:
                pipe.write(chunk)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        yield path
    finally:
        feeder.join(timeout=10)
        assert not feeder.is_alive()


ENDLESS = {"zero device": None, "FIFO of zeros": b"\0" * 65536}


@pytest.mark.parametrize("source", list(ENDLESS))
def test_endless_zeros_as_a_corpus_fail_at_once(tmp_path: Path, work: Path, source: str) -> None:
    with contextlib.ExitStack() as stack:
        if ENDLESS[source] is None:
            path = char_device(tmp_path / "zero", 1, 5)
        else:
            path = stack.enter_context(fed_fifo(tmp_path / "pipe", ENDLESS[source]))  # type: ignore[arg-type]
        started = time.monotonic()
        done = firth("train", "--corpus", path, "--out", tmp_path / "m", "-q", "--tmp-dir", work, timeout=60)
        elapsed = time.monotonic() - started
    err = one_error_line(done, "train")
    assert f"corpus {path}: line 1 holds NUL bytes (binary file?)" in err
    assert elapsed < 20  # reading starts after numba loads: a few seconds; MemoryError took 20 s
    assert list(work.iterdir()) == []


@pytest.mark.parametrize("fmt", ["glove", "word2vec", "fasttext"])
@pytest.mark.parametrize("source", list(ENDLESS))
def test_endless_zeros_as_an_import_file_fail_at_once(tmp_path: Path, fmt: str, source: str) -> None:
    with contextlib.ExitStack() as stack:
        if ENDLESS[source] is None:
            path = char_device(tmp_path / "zero", 1, 5)
        else:
            path = stack.enter_context(fed_fifo(tmp_path / "pipe", ENDLESS[source]))  # type: ignore[arg-type]
        started = time.monotonic()
        done = firth("import", fmt, path, "--out", tmp_path / "m", "--quiet", timeout=60)
        elapsed = time.monotonic() - started
    err = one_error_line(done, "import")
    assert f"{path}: line 1 holds NUL bytes (binary data, not a text vectors file)" in err
    assert elapsed < 20
    assert not (tmp_path / "m").exists()


EVALUATION_FILES = {
    "zero device": "line 1 holds NUL bytes (binary data, not an evaluation file)",
    "FIFO of zeros": "line 1 holds NUL bytes (binary data, not an evaluation file)",
    "1 GiB sparse file": "line 1 holds NUL bytes (binary data, not an evaluation file)",
    "FIFO of endless lines": "more than 1,000,000 lines (not an evaluation file?)",
}


@pytest.mark.parametrize("source", list(EVALUATION_FILES))
def test_binary_or_endless_evaluation_files_fail_at_once(
    tmp_path: Path, tiny_model_dir: Path, source: str
) -> None:
    """`firth evaluate --file` read the whole file into memory: a 20 GB sparse file grew the
    process to 24 GB and the kernel's OOM killer ended it; a device or FIFO was "no such file"."""
    with contextlib.ExitStack() as stack:
        if source == "zero device":
            path = char_device(tmp_path / "zero", 1, 5)
        elif source == "1 GiB sparse file":
            path = tmp_path / "sparse.txt"
            with open(path, "wb") as handle:
                handle.truncate(1 << 30)  # no disk blocks: reads as zeros
        else:
            chunk = b"\0" * 65536 if source == "FIFO of zeros" else b"a b c d\n" * 8192
            path = stack.enter_context(fed_fifo(tmp_path / "pipe", chunk))
        started = time.monotonic()
        done = firth("evaluate", tiny_model_dir, "--file", path, "--no-save", timeout=60)
        elapsed = time.monotonic() - started
    err = one_error_line(done, "evaluate")
    assert f"{path}: {EVALUATION_FILES[source]}" in err
    assert elapsed < 20


def test_a_corpus_without_whitespace_fails_at_once(tmp_path: Path, work: Path) -> None:
    with fed_fifo(tmp_path / "pipe", b"a" * 65536) as pipe:
        done = firth("train", "--corpus", pipe, "--out", tmp_path / "m", "-q", "--tmp-dir", work, timeout=60)
    err = one_error_line(done, "train")
    assert "line 1 holds a word of more than 100,000 characters (binary data?)" in err
    assert list(work.iterdir()) == []


def test_an_import_line_over_the_limit_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "g.txt"
    src.write_bytes(b"word" + b" 1" * (9 << 20) + b"\n")  # 18 MiB without a line break
    assert main(["import", "glove", str(src), "--out", str(tmp_path / "m"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err == f"firth import: error: {src}: line 1 is longer than 16 MiB (not a text vectors file?)\n"


# --- a full disk under --tmp-dir -------------------------------------------------------------------


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs mounted in the test's directory, unmounted afterwards; skipped if not allowed."""
    mount = tmp_path / "full"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True, check=False
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_a_full_disk_under_tmp_dir_is_one_line(tmp_path: Path, small_tmpfs: Path) -> None:
    corpus = write_corpus(tmp_path / "c.txt", n=60000)  # 1.4 M token ids: 5.6 MB of work files
    done = firth("train", "--corpus", corpus, "--out", tmp_path / "m", "-q", "--tmp-dir", small_tmpfs)
    err = one_error_line(done, "train")
    assert f"cannot write work files under {small_tmpfs} (No space left on device)" in err
    assert "point --tmp-dir at a larger disk" in err
    assert list(small_tmpfs.iterdir()) == [] and not (tmp_path / "m").exists()


def test_no_space_for_a_mapped_work_file_is_one_line(
    tmp_path: Path,
    work: Path,
    corpus: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """GloVe's memory-mapped work files reserve their space first (a full disk there would be a
    SIGBUS later): ENOSPC injected at that boundary ends as one line, work files removed."""
    import firth_trainer.workfiles

    def no_space(fd: int, offset: int, length: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(firth_trainer.workfiles.os, "posix_fallocate", no_space)
    out = tmp_path / "m"
    args = ["train", "--corpus", str(corpus), "--out", str(out), "-q", "--tmp-dir", str(work)]
    assert main([*args, "--algorithm", "glove", "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "(No space left on device)" in err
    assert list(work.iterdir()) == [] and not out.exists()


# --- SIGTERM ---------------------------------------------------------------------------------------


def _terminate_when_working(process: subprocess.Popen[str], work: Path, settle: float) -> None:
    deadline = time.monotonic() + 60
    while not list(work.glob("firth-train-*")):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no work directory appeared"
        time.sleep(0.05)
    time.sleep(settle)
    assert process.poll() is None, "the run ended before it could be signalled"
    process.send_signal(signal.SIGTERM)


@pytest.mark.parametrize(
    "flags", [["--epochs", "2000"], ["--algorithm", "glove", "--epochs", "100000"]], ids=["sgns", "glove"]
)
def test_sigterm_removes_the_work_files(tmp_path: Path, work: Path, corpus: Path, flags: list[str]) -> None:
    out = tmp_path / "m"
    cmd = [
        str(firth_script()),
        "train",
        "--corpus",
        str(corpus),
        "--out",
        str(out),
        "-q",
        "--tmp-dir",
        str(work),
    ]
    # One short run first, so numba's kernels are compiled and cached and the signal lands in
    # training (one inside the compiler: test_a_signal_inside_numbas_compiler_waits_for_it).
    warm_flags = [*flags[: flags.index("--epochs")], "--epochs", "1"]
    warm_cmd = [*cmd[: cmd.index("--out") + 1], str(tmp_path / "warm"), *cmd[cmd.index("--out") + 2 :]]
    warm = subprocess.run([*warm_cmd, *warm_flags], capture_output=True, text=True, timeout=300)
    assert warm.returncode == 0, warm.stderr
    with subprocess.Popen(
        [*cmd, *flags], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        _terminate_when_working(process, work, settle=2.0)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert stderr == "firth train: terminated; nothing was written\n"
    assert list(work.iterdir()) == [] and not out.exists()


def test_sigterm_does_not_wait_for_a_job_that_never_ends(tmp_path: Path, work: Path, corpus: Path) -> None:
    """--negative 1000000 makes one job (a chunk of the corpus) last for hours: SIGTERM used to
    wait for it (timeout's SIGTERM at 60 s, still running at 13 minutes on both cores)."""
    cmd = [str(firth_script()), "train", "--corpus", str(corpus), "--out", str(tmp_path / "m"), "-q"]
    cmd += ["--tmp-dir", str(work), "--negative", "1000000", "--epochs", "1"]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        try:
            _terminate_when_working(process, work, settle=2.0)
            started = time.monotonic()
            _, stderr = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()  # the failure this test looks for: never leave it computing
                process.wait()
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert stderr == "firth train: terminated; nothing was written\n"
    assert time.monotonic() - started < 15
    assert list(work.iterdir()) == [] and not (tmp_path / "m").exists()


# SIGTERM or Ctrl-C raised (by its handler) at the end of numba's LLVM-lock event, inside the
# compiler: the exception unwound numba's lock half-released, so the next compile (a training
# thread's, say) waited for ever; now the signal is taken once the compiler has returned.
_SIGNAL_IN_THE_COMPILER = """
import signal, sys, threading, time
import numba
from numba.core import event
from firth_trainer.cli import Terminated, _sigterm_unwinds

SIGNAL = signal.Signals[sys.argv[1]]

class SignalOnce(event.Listener):
    sent = False
    def on_start(self, ev):
        pass
    def on_end(self, ev):
        if not SignalOnce.sent:
            SignalOnce.sent = True
            signal.raise_signal(SIGNAL)

@numba.njit
def add(a, b):
    return a + b

@numba.njit
def mul(a, b):
    return a * b

with _sigterm_unwinds():
    event.register("numba:llvm_lock", SignalOnce())
    try:
        print("compiled", add(1, 2), flush=True)
        time.sleep(10)
        print("not terminated")
    except (Terminated, KeyboardInterrupt) as exc:
        print(type(exc).__name__)
out = []
compiling = threading.Thread(target=lambda: out.append(mul(2, 3)), daemon=True)
compiling.start()
compiling.join(20)
print("next compile", out[0] if out else "hung")
"""


@pytest.mark.parametrize(("signame", "raised"), [("SIGTERM", "Terminated"), ("SIGINT", "KeyboardInterrupt")])
def test_a_signal_inside_numbas_compiler_waits_for_it(tmp_path: Path, signame: str, raised: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _SIGNAL_IN_THE_COMPILER, signame],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba-cache")},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"compiled 3\n{raised}\nnext compile 6\n", done.stderr


def test_sigterm_while_reading_a_pipe_removes_the_work_files(tmp_path: Path, work: Path) -> None:
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    cmd = [
        str(firth_script()),
        "train",
        "--corpus",
        str(pipe),
        "--out",
        str(tmp_path / "m"),
        "-q",
        "--tmp-dir",
        str(work),
    ]
    with (
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process,
        open(pipe, "w") as writer,  # opened once the process reads; kept open: it waits for more
    ):
        writer.write("the cat sat on the mat\n" * 1000)
        writer.flush()
        _terminate_when_working(process, work, settle=0.5)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert stderr == "firth train: terminated; nothing was written\n"
    assert list(work.iterdir()) == []


# --- a run that trains nothing ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["--algorithm", "glove", "--alpha", "1e6"],
            "GloVe: every co-occurrence weighs 0 with --alpha 1e+06 and --x-max 100",
        ),
        (
            ["--algorithm", "glove", "--eta", "1e-30"],
            "GloVe: the vectors never moved from their random start (largest change 0)",
        ),
        (
            ["--alpha", "1e-30", "--min-alpha", "0"],
            "sgns: the vectors never moved from their random start (largest change 0)",
        ),
        (
            ["--algorithm", "cbow", "--alpha", "1e-30", "--min-alpha", "0"],
            "cbow: the vectors never moved from their random start",
        ),
    ],
    ids=["glove alpha 1e6", "glove eta 1e-30", "sgns alpha 1e-30", "cbow alpha 1e-30"],
)
def test_a_run_whose_vectors_never_moved_fails(
    tmp_path: Path, work: Path, flags: list[str], message: str
) -> None:
    corpus = write_corpus(tmp_path / "c.txt", n=60)  # no pair is seen 100 times (GloVe's x-max)
    out = tmp_path / "m"
    done = firth(
        "train", "--corpus", corpus, "--out", out, "--min-count", "1", "--epochs", "2", "-q",
        "--tmp-dir", work, *flags,
    )  # fmt: skip
    err = one_error_line(done, "train")
    assert message in err and "no model was written" in err
    assert not out.exists() and list(work.iterdir()) == []


# --- work directories of killed runs ---------------------------------------------------------------


def _work_dirs_of(work: Path, process: subprocess.Popen[str]) -> Path:
    deadline = time.monotonic() + 60
    while not (found := list(work.glob(f"firth-train-{process.pid}-*"))):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no work directory appeared"
        time.sleep(0.05)
    (path,) = found
    return path


def test_a_later_run_removes_only_the_work_directories_of_killed_runs(
    tmp_path: Path, work: Path, corpus: Path
) -> None:
    """kill -9 leaves a run's work directory behind; the next run removes it, and nothing else: not
    a live run's, not one whose owner record is missing, forged for another host or reached
    through a symlink, not any other directory."""
    cmd = [str(firth_script()), "train", "--corpus", str(corpus), "-q", "--tmp-dir", str(work)]
    # lookalikes: the name of a dead owner (pid 1's start time is never 1), but no proof of it
    no_record = work / "firth-train-1-1-nofile"
    no_record.mkdir()
    (no_record / "keep.txt").write_text("mine")
    elsewhere = work / "firth-train-1-1-elsewhere"
    elsewhere.mkdir()
    (elsewhere / ".firth-train-owner").write_text('{"pid": 1, "start": 1, "host": "another-host"}')
    target = tmp_path / "target"  # a symlink's target holding a valid-looking record of a dead run
    target.mkdir()
    (target / ".firth-train-owner").write_text('{"pid": 1, "start": 1}')
    (work / "firth-train-1-1-link").symlink_to(target, target_is_directory=True)
    other = work / "not-firths"
    other.mkdir()
    live = subprocess.Popen([*cmd, "--out", str(tmp_path / "live"), "--epochs", "100000"], text=True)
    killed = subprocess.Popen([*cmd, "--out", str(tmp_path / "killed"), "--epochs", "100000"], text=True)
    try:
        live_dir = _work_dirs_of(work, live)
        killed_dir = _work_dirs_of(work, killed)
        killed.kill()
        killed.wait()
        assert killed_dir.is_dir()  # what SIGKILL leaves behind
        done = subprocess.run(
            [*cmd, "--out", str(tmp_path / "next"), "--epochs", "1"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        assert not killed_dir.exists()
        assert live_dir.is_dir() and live.poll() is None
        assert (no_record / "keep.txt").read_text() == "mine" and elsewhere.is_dir() and other.is_dir()
        assert (work / "firth-train-1-1-link").is_symlink() and (target / ".firth-train-owner").is_file()
    finally:
        for process in (live, killed):
            if process.poll() is None:
                process.kill()
            process.wait()
