"""Hot reload in the real server (2 supervised workers): 10 reloads under load, alternating good,
corrupt and removed versions, lose no request for the models that stay; a vectors file truncated in
place under the server is refused with 503 problem+json and no worker dies (no SIGBUS)."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest

from bench.server_process import ServerProcess
from firth_core.artifact import META_FILE, NGRAMS_FILE, OUTPUT_FILE, VECTORS_FILE, VOCAB_FILE, write_artifact
from tests.subword_models import OOV_WORDS, gensim_fasttext, syllable_words, write_subword_model

pytestmark = pytest.mark.e2e
WORDS = 20_000  # a few MB: a reload takes long enough to overlap requests
STAYING = ("stay", "churn")  # churn changes version; both must answer every request
ADMIN_KEY = "e2e-reload-admin-key-4Hq"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


def _admin_env(tmp_path: Path) -> dict[str, str]:
    """The admin key file POST /admin/reload needs (outside the models directory)."""
    key = tmp_path / "admin.key"
    key.write_text(ADMIN_KEY + "\n")
    return {"FIRTH_ADMIN_KEY": str(key)}


def _version(models: Path, name: str, seed: int) -> Path:
    """A good model written beside `models/name` and renamed into its place (as `firth train
    --overwrite`): the served version keeps its old inodes."""
    rng = np.random.default_rng(seed)
    staged = write_artifact(
        models / f".staged-{uuid.uuid4().hex[:8]}",
        [f"w{i}" for i in range(WORDS)],
        rng.standard_normal((WORDS, 32)).astype(np.float32),
        name=name,
    )
    target = models / name
    if target.exists():
        old = models / f".old-{uuid.uuid4().hex[:8]}"
        target.rename(old)
        staged.rename(target)
        shutil.rmtree(old)
    else:
        staged.rename(target)
    return target


def _replace_file(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.new")
    tmp.write_bytes(data)
    tmp.rename(path)


def _flip_byte(model: Path) -> None:
    data = bytearray((model / VECTORS_FILE).read_bytes())
    data[len(data) // 2] ^= 0x01
    _replace_file(model / VECTORS_FILE, bytes(data))


def _truncate_vocab(model: Path) -> None:
    lines = (model / VOCAB_FILE).read_bytes().splitlines(keepends=True)
    _replace_file(model / VOCAB_FILE, b"".join(lines[: len(lines) // 2]))


def _workers(server: ServerProcess) -> list[int]:
    assert server.process is not None
    pid = server.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return sorted(int(c) for c in children)


def _models(url: str) -> dict[str, dict[str, object]]:
    with httpx.Client(timeout=10) as fresh:  # a new connection: SO_REUSEPORT picks the worker
        return {m["name"]: m for m in fresh.get(f"{url}/v1/models").json()["models"]}


def _until_every_worker(url: str, check: Callable[[dict[str, dict[str, object]]], bool], what: str) -> None:
    """Wait until 12 fresh connections in a row (both workers, with near certainty) agree."""
    deadline, agreed = time.monotonic() + 60, 0
    while agreed < 12:
        agreed = agreed + 1 if check(_models(url)) else 0
        assert time.monotonic() < deadline, f"workers never all reached: {what}"
        time.sleep(0.02 if agreed else 0.2)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[ServerProcess, Path]]:
    models = tmp_path / "models"
    models.mkdir()
    _version(models, "stay", seed=1)
    _version(models, "churn", seed=2)
    args = ("--workers", "2", "--models-dir", str(models), "--default-model", "stay", "--index", "exact")
    with ServerProcess(*args, clean_env=True, env=_admin_env(tmp_path)) as server:
        yield server, models


def _load(url: str, stop: threading.Event, outcomes: Counter[str], lock: threading.Lock) -> None:
    rng = np.random.default_rng()
    while not stop.is_set():
        with httpx.Client(base_url=url, timeout=30) as client:  # a new connection every 20 requests
            for _ in range(20):
                model = STAYING[int(rng.integers(2))]
                word = f"w{int(rng.integers(WORDS))}"
                try:
                    if rng.integers(2):
                        response = client.get(f"/v1/models/{model}/vectors/{word}")
                    else:
                        response = client.get(f"/v1/models/{model}/neighbors", params={"word": word, "k": 5})
                    key = f"{model} {response.status_code}"
                except httpx.HTTPError as exc:
                    key = f"{model} {exc.__class__.__name__}"
                with lock:
                    outcomes[key] += 1


def test_ten_reloads_under_load_fail_no_request(served: tuple[ServerProcess, Path]) -> None:
    server, models = served
    url = server.url
    workers = _workers(server)
    assert len(workers) == 2
    churn = models / "churn"
    sha = _models(url)["churn"]["sha256"]

    def good(seed: int) -> Callable[[], str]:
        def step() -> str:
            _version(models, "churn", seed)
            return "good"

        return step

    def corrupt(damage: Callable[[Path], None]) -> Callable[[], str]:
        def step() -> str:
            damage(churn)
            return "corrupt"

        return step

    def add_extra() -> str:
        _version(models, "extra", seed=9)
        return "added"

    def remove_extra() -> str:
        shutil.rmtree(models / "extra")
        return "removed"

    steps = [
        good(3),
        corrupt(_flip_byte),
        good(4),
        corrupt(_truncate_vocab),
        add_extra,
        corrupt(lambda m: (m / META_FILE).unlink()),
        remove_extra,
        good(5),
        corrupt(_flip_byte),
        good(6),
    ]
    outcomes: Counter[str] = Counter()
    lock, stop = threading.Lock(), threading.Event()
    with ThreadPoolExecutor(4) as pool:
        load = [pool.submit(_load, url, stop, outcomes, lock) for _ in range(4)]
        try:
            time.sleep(0.5)
            for number, step in enumerate(steps):
                kind = step()
                if number % 2:  # half by SIGHUP to the supervisor, half by the admin route
                    assert server.process is not None
                    os.kill(server.process.pid, signal.SIGHUP)
                else:
                    with httpx.Client(timeout=60) as admin:
                        answer = admin.post(f"{url}/admin/reload", headers=ADMIN)
                    assert answer.status_code == 202, answer.text  # the other worker was asked too
                    assert answer.json()["others_reloading"] is True
                if kind == "good":
                    old = sha
                    _until_every_worker(
                        url,
                        lambda m, old=old: m["churn"]["sha256"] != old and m["churn"]["load_error"] is None,
                        kind,
                    )
                    sha = _models(url)["churn"]["sha256"]
                elif kind == "corrupt":
                    _until_every_worker(
                        url,
                        lambda m, sha=sha: m["churn"]["sha256"] == sha and bool(m["churn"]["load_error"]),
                        kind,
                    )
                elif kind == "added":
                    _until_every_worker(url, lambda m: "extra" in m, kind)
                else:
                    _until_every_worker(url, lambda m: "extra" not in m, kind)
        finally:
            stop.set()
            for future in load:
                future.result()
    answered = sum(outcomes.values())
    failed = {k: v for k, v in outcomes.items() if not k.endswith(" 200")}
    print(f"{answered} requests during 10 reloads: {dict(outcomes)}")
    assert answered > 200 and failed == {}, (outcomes, server.output())
    assert _workers(server) == workers  # no worker died or was replaced


def test_truncated_in_place_answers_503_and_no_worker_dies(served: tuple[ServerProcess, Path]) -> None:
    server, models = served
    workers = _workers(server)
    with httpx.Client(timeout=10) as fresh:
        assert fresh.get(f"{server.url}/v1/models/churn/vectors/w19999").status_code == 200
    os.truncate(models / "churn" / VECTORS_FILE, 4096)  # the same inode, shrunk under the maps
    for _ in range(20):  # new connections: both workers are asked
        with httpx.Client(timeout=10) as fresh:
            answer = fresh.get(f"{server.url}/v1/models/churn/vectors/w19999")
            assert answer.status_code == 503, answer.text
            assert answer.headers["content-type"] == "application/problem+json"
            assert answer.json()["type"] == "/problems/model-unavailable"
            assert fresh.get(f"{server.url}/v1/models/stay/vectors/w19999").status_code == 200
            ready = fresh.get(f"{server.url}/readyz").json()
            assert ready["status"] == "degraded" and "truncated" in ready["models"]["churn"]["unavailable"]
    assert _workers(server) == workers and server.process is not None and server.process.poll() is None
    assert "truncated in place" in server.log.read_text(errors="replace")  # logged


def test_every_mapped_matrix_truncated_in_place_answers_503_not_sigbus(
    tmp_path: Path, classifier_model_dir: Path
) -> None:
    """Not only vectors.npy is memory-mapped: a fastText model's n-gram rows (read for unknown
    words) and a classifier's label layer (every /classify) are too. Truncated in place, the
    n-grams killed the worker with SIGBUS and the label layer answered 200 with other
    probabilities, /readyz ready throughout."""
    models = tmp_path / "models"
    models.mkdir()
    _version(models, "stay", seed=1)
    write_subword_model(models / "subword", gensim_fasttext(syllable_words()))
    shutil.copytree(classifier_model_dir, models / "labels")
    args = ("--workers", "2", "--models-dir", str(models), "--default-model", "stay", "--index", "exact")
    oov = f"/v1/models/subword/vectors/{OOV_WORDS[0]}"
    classify = {"texts": ["the cat sat"]}
    with ServerProcess(*args, clean_env=True) as server:
        workers = _workers(server)
        with httpx.Client(base_url=server.url, timeout=10) as fresh:
            assert fresh.get(oov).status_code == 200
            assert fresh.post("/v1/models/labels/classify", json=classify).status_code == 200
        os.truncate(models / "subword" / NGRAMS_FILE, 4096)  # same inodes, shrunk under the maps
        os.truncate(models / "labels" / OUTPUT_FILE, 140)
        for _ in range(20):  # new connections: both workers are asked
            with httpx.Client(base_url=server.url, timeout=10) as fresh:
                for answer, file in (
                    (fresh.get(oov), NGRAMS_FILE),
                    (fresh.post("/v1/models/labels/classify", json=classify), OUTPUT_FILE),
                ):
                    assert answer.status_code == 503, answer.text
                    assert answer.json()["type"] == "/problems/model-unavailable"
                    assert f"{file}: truncated in place" in answer.json()["detail"]
                assert fresh.get("/v1/models/stay/vectors/w1").status_code == 200
                ready = fresh.get("/readyz").json()
                assert ready["status"] == "degraded" and set(ready["models"]) >= {"subword", "labels"}
                assert all("unavailable" in ready["models"][m] for m in ("subword", "labels"))
        assert _workers(server) == workers and server.process is not None and server.process.poll() is None


def test_one_process_reloads_on_sighup_and_answers_200(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    _version(models, "stay", seed=1)
    with ServerProcess(
        "--workers",
        "1",
        "--models-dir",
        str(models),
        "--index",
        "exact",
        clean_env=True,
        env=_admin_env(tmp_path),
    ) as server:
        assert server.process is not None
        _version(models, "extra", seed=9)
        os.kill(server.process.pid, signal.SIGHUP)
        _until_every_worker(server.url, lambda m: "extra" in m, "added by SIGHUP")
        shutil.rmtree(models / "extra")
        with httpx.Client(timeout=60) as admin:
            answer = admin.post(f"{server.url}/admin/reload", headers=ADMIN)
        assert answer.status_code == 200, answer.text  # alone: nobody else to wait for
        assert answer.json()["removed"] == ["extra"] and answer.json()["others_reloading"] is False
        assert server.process.poll() is None
