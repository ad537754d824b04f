"""Each client method is defined once (an operation function in firth_client, made a method of both
clients by firth_client/_method.py). What users see must still be exact: mypy's view of both
clients (arguments, keyword-only markers, defaults, result types, awaitables) and what help() and
inspect show at run time."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

from firth_client import AsyncFirthClient, Evaluation, FirthClient, Neighbor
from tests.conftest import REPO

USES = """
from firth_client import AsyncFirthClient, FirthClient

def blocking(firth: FirthClient) -> None:
    reveal_type(firth.model_info)
    reveal_type(firth.most_similar("king", topn=3))
    firth.most_similar("king", None, 3, "3cosmul")
    firth.embed(["a text"], pooling="max")
    firth.similarity("cat")

async def awaited(firth: AsyncFirthClient) -> None:
    reveal_type(firth.evaluate)
    reveal_type(await firth.vector("king"))
    firth.health(1)
"""


def test_mypy_sees_each_clients_exact_methods(tmp_path: Path) -> None:
    uses = tmp_path / "uses.py"
    uses.write_text(USES, "utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--cache-dir", str(tmp_path / "cache"), str(uses)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,  # the project's mypy settings, and firth_client from this checkout
        check=False,
    )
    lines = [line.split(": ", 1)[1] for line in done.stdout.splitlines() if line.startswith(str(uses))]
    assert lines == [
        'note: Revealed type is "def (model: str | None =) -> firth_client.results.ModelInfo"',
        'note: Revealed type is "list[firth_client.results.Neighbor]"',
        "error: Too many positional arguments  [call-arg]",
        'error: Argument "pooling" has incompatible type "Literal[\'max\']"; expected '
        "\"Literal['mean', 'sif']\"  [arg-type]",
        "error: Too few arguments  [call-arg]",
        'note: Revealed type is "def (benchmark: str | None =, *, items: typing.Sequence[str] | None =, '
        "kind: str | None =, restrict_vocab: int =, case_insensitive: bool =, dummy4unknown: bool =, "
        'subwords: bool =) -> typing.Coroutine[Any, Any, firth_client.results.Evaluation]"',
        'note: Revealed type is "numpy.ndarray[tuple[Any, ...], numpy.dtype[Any]]"',
        "error: Too many arguments  [call-arg]",
        'error: Value of type "Coroutine[Any, Any, Health]" must be used  [unused-coroutine]',
        "note: Are you missing an await?",
    ], done.stdout


def test_help_and_inspect_show_the_methods_as_written() -> None:
    for cls in (FirthClient, AsyncFirthClient):
        evaluate = cls.evaluate
        assert evaluate.__name__ == "evaluate" and evaluate.__qualname__ == f"{cls.__name__}.evaluate"
        assert evaluate.__doc__ and evaluate.__doc__.startswith("A bundled benchmark")
        signature = inspect.signature(evaluate)
        assert signature.return_annotation is Evaluation
        assert [(p.name, p.kind.name, p.default) for p in signature.parameters.values()] == [
            ("self", "POSITIONAL_OR_KEYWORD", inspect.Parameter.empty),
            ("benchmark", "POSITIONAL_OR_KEYWORD", None),
            ("items", "KEYWORD_ONLY", None),
            ("kind", "KEYWORD_ONLY", None),
            ("restrict_vocab", "KEYWORD_ONLY", 300_000),
            ("case_insensitive", "KEYWORD_ONLY", True),
            ("dummy4unknown", "KEYWORD_ONLY", False),
            ("subwords", "KEYWORD_ONLY", False),
        ]
        assert inspect.signature(cls.most_similar).return_annotation == list[Neighbor]
    with FirthClient() as firth:
        assert repr(firth.vector).startswith("<bound method FirthClient.vector of FirthClient(")
