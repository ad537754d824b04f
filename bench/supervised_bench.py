"""firth's supervised classifier beside fastText's own, on the GCIDE domains set (issue 12, section 4).

    python bench/supervised_bench.py [--data bench/out/domains] [--threads 2]

1. Builds the set with ../shared/bench/make_domains.py (its sha256 printed) unless it is there.
2. Word n-grams 1 and 2, dim 100, lr 0.5, 25 epochs, 2 threads: test P@1 and wall time of
   fastText's `train_supervised` (read + train, in process) and of firth's read + train (in
   process), plus firth's whole `firth train` (writing the model directory too).
3. `--pretrained glove-6b-50d` at dim 50, frozen and not, against training from scratch at dim 50.
4. /classify over HTTP (a real firth-serve, batches of 1,000 test texts) against fastText's
   in-process `predict` on the same texts: texts a second.

Everything is printed side by side from one run; the machine may be shared, so read the ratios.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import httpx

from firth_core.artifact import load_artifact
from firth_core.classifier import Classifier
from firth_core.labelled_text import split_labels
from firth_trainer.classifier_metrics import Meter
from firth_trainer.pipeline import TrainConfig, train_model
from firth_trainer.supervised import SUPERVISED_DEFAULTS, train_supervised
from firth_trainer.supervised_data import iter_labelled_lines, read_labelled
from firth_trainer.vocab import VocabParams

sys.path.insert(0, str(Path(__file__).resolve().parent))
from server_process import ServerProcess

REPO = Path(__file__).resolve().parent.parent
MAKE_DOMAINS = REPO.parent / "shared" / "bench" / "make_domains.py"
if not MAKE_DOMAINS.exists():
    MAKE_DOMAINS = Path("/work/shared/bench/make_domains.py")
STANDARDIZE = "lower_and_strip_punctuation"
BATCH = 1000


def build_data(out: Path) -> None:
    if (out / "train.txt").exists() and (out / "test.txt").exists():
        print(f"data: {out} (already built)")
    else:
        result = subprocess.run([sys.executable, str(MAKE_DOMAINS), str(out)], capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit(f"make_domains.py failed: {result.stderr.strip()}")
    for name in ("train.txt", "test.txt"):
        data = (out / name).read_bytes()
        digest, lines = hashlib.sha256(data).hexdigest(), data.count(b"\n")
        print(f"  {name}: {lines:,} examples, sha256 {digest}")


def p_at_1(model: Classifier, test: Path) -> float:
    meter = Meter()
    lines = list(iter_labelled_lines(test, model.standardize))
    predictions = model.predict_rows([model.token_rows(line.tokens) for line in lines], 1)
    for line, prediction in zip(lines, predictions, strict=True):
        meter.log(line.labels, [label for label, _ in prediction.labels])
    return meter.total.precision


def firth_run(train: Path, test: Path, out: Path, threads: int, **changes: object) -> dict[str, float]:
    """Read + train in process (timed as fastText's train_supervised is), then the whole
    `firth train` writing `out` (timed too), then P@1 from the written model."""
    params = replace(SUPERVISED_DEFAULTS["supervised"], alpha=0.5, epochs=25, threads=threads, **changes)  # type: ignore[arg-type]
    started = time.perf_counter()
    data = read_labelled(train, STANDARDIZE, 1, None, params.word_ngrams, params.bucket)
    start_rows = None
    if params.pretrained:
        from firth_trainer.supervised_pipeline import pretrained_rows

        rows, vectors, _ = pretrained_rows(params, data.words)
        start_rows = (rows, vectors)
    train_supervised(data, params, start_rows, quiet=True)
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    cfg = TrainConfig(str(train), str(out), params, VocabParams(min_count=1), quiet=True, overwrite=True)
    train_model(cfg)
    whole = time.perf_counter() - started
    return {
        "p1": p_at_1(Classifier.from_artifact(load_artifact(out)), test),
        "seconds": seconds,
        "whole": whole,
    }


def fasttext_run(
    train: Path, test: Path, threads: int, dim: int, ngrams: int, pretrained: str = ""
) -> tuple[dict[str, float], object]:
    import fasttext

    options: dict[str, object] = {
        "dim": dim,
        "lr": 0.5,
        "epoch": 25,
        "wordNgrams": ngrams,
        "thread": threads,
        "verbose": 0,
    }
    if pretrained:
        options["pretrainedVectors"] = pretrained
    started = time.perf_counter()
    model = fasttext.train_supervised(input=str(train), **options)
    seconds = time.perf_counter() - started
    _, p1, _ = model.test(str(test))
    return {"p1": p1, "seconds": seconds}, model


def texts_of(test: Path) -> list[str]:
    return [split_labels(line)[1] for line in test.read_text(encoding="utf-8").splitlines()]


def serve_throughput(model_dir: Path, texts: list[str], rounds: int = 3) -> float:
    env = {"FIRTH_MODELS": str(model_dir), "FIRTH_BUILD_HNSW": "0", "FIRTH_WORKERS": "1"}
    with (
        ServerProcess(env=env, clean_env=True) as server,
        httpx.Client(base_url=server.url, timeout=60) as http,
    ):
        url = f"/v1/models/{model_dir.name}/classify"
        http.post(url, json={"texts": texts[:10]}).raise_for_status()  # warm up
        started = time.perf_counter()
        for _ in range(rounds):
            for i in range(0, len(texts), BATCH):
                response = http.post(url, json={"texts": texts[i : i + BATCH], "k": 1})
                response.raise_for_status()
        return rounds * len(texts) / (time.perf_counter() - started)


def fasttext_throughput(model: object, texts: list[str], rounds: int = 3) -> float:
    started = time.perf_counter()
    for _ in range(rounds):
        for i in range(0, len(texts), BATCH):
            model.predict(texts[i : i + BATCH], k=1)  # type: ignore[attr-defined]
    return rounds * len(texts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=REPO / "bench" / "out" / "domains")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--glove", type=Path, default=REPO / "models" / "glove-6b-50d")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (shared: read the ratios)")
    build_data(args.data)
    train, test = args.data / "train.txt", args.data / "test.txt"
    texts = texts_of(test)
    with tempfile.TemporaryDirectory(prefix="firth-supervised-bench-") as tmp:
        work = Path(tmp)
        print(
            f"\nfastText vs firth: dim 100, lr 0.5, 25 epochs, {args.threads} threads (P@1 on the test set)"
        )
        print(
            f"{'word n-grams':<13}{'fastText P@1':>13}{'time':>8}{'firth P@1':>11}{'time':>8}{'P@1 diff':>10}"
            f"{'time ratio':>12}{'firth train CLI':>17}"
        )
        served: dict[int, tuple[Path, object]] = {}
        for ngrams in (1, 2):
            ft, ft_model = fasttext_run(train, test, args.threads, 100, ngrams)
            out = work / f"domains-{ngrams}"
            ours = firth_run(train, test, out, args.threads, word_ngrams=ngrams)
            served[ngrams] = (out, ft_model)
            print(
                f"{ngrams:<13}{ft['p1']:>13.3f}{ft['seconds']:>7.2f}s{ours['p1']:>11.3f}{ours['seconds']:>7.2f}s"
                f"{ours['p1'] - ft['p1']:>+10.3f}{ours['seconds'] / ft['seconds']:>11.2f}x{ours['whole']:>16.2f}s"
            )
        print(
            f"\nGloVe 6B 50d as the starting point (dim 50, word n-grams 1, lr 0.5, 25 epochs, {args.threads} threads)"
        )
        print(f"{'start':<36}{'firth P@1':>10}{'time':>9}")
        rows = [
            ("from scratch", {}),
            ("--pretrained glove-6b-50d", {"pretrained": str(args.glove)}),
            ("--pretrained glove-6b-50d, frozen", {"pretrained": str(args.glove), "freeze_embeddings": True}),
        ]
        for label, changes in rows:
            ours = firth_run(train, test, work / "glove-start", args.threads, dim=50, **changes)
            print(f"{label:<36}{ours['p1']:>10.3f}{ours['seconds']:>8.2f}s")
        print("  (the seed-style baseline, mean of unit GloVe 50d vectors + logistic regression: 0.780)")
        print(
            f"\n/classify over HTTP (1 worker, batches of {BATCH:,}) vs fastText's in-process predict, "
            f"{len(texts):,} test texts x 3"
        )
        print(f"{'word n-grams':<13}{'firth texts/s':>15}{'fastText texts/s':>18}{'ratio':>8}")
        for ngrams, (out, ft_model) in served.items():
            ours_rate = serve_throughput(out, texts)
            ft_rate = fasttext_throughput(ft_model, texts)
            print(f"{ngrams:<13}{ours_rate:>15,.0f}{ft_rate:>18,.0f}{ours_rate / ft_rate:>7.2f}x")


if __name__ == "__main__":
    main()
