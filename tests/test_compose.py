"""docker-compose.yml and Dockerfile, checked without a Docker engine.

- The compose file passes a real validator (`docker-compose config -q`, Debian's docker-compose,
  which .ci/run installs; or `docker compose` where the plugin exists), and that validator
  rejects a broken file, so the check is not a no-op.
- The service: healthcheck on /readyz (the command is run against a live HTTP server), models on a
  read-only volume, HNSW indexes on a writable named volume; the trainer is a one-off job behind a
  profile, and its command parses with firth's own CLI.
- The `replicas` profile: firth replicas (the service's image, volumes and healthcheck, no published
  port) behind nginx, which starts once they are healthy and runs deploy/nginx/firth.conf, whose
  upstream names exactly those replicas (tests/e2e/test_replicas.py runs that file for real).
- The Dockerfile runs `make serve`'s steps: both files are parsed and compared step by step, and
  the image's environment configures firth-serve as the Makefile's flags do.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
COMPOSE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
MAKEFILE = REPO / "Makefile"


# -- parsers ---------------------------------------------------------------------------------


def load_compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, rest = line.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
    return instructions


def dockerfile_env(instructions: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, rest in instructions:
        if keyword == "ENV":
            for item in shlex.split(rest):
                key, _, value = item.partition("=")
                env[key] = value
    return env


def exec_form(rest: str) -> list[str]:
    value = json.loads(rest)
    assert isinstance(value, list), f"use the exec (JSON) form: {rest}"
    return [str(v) for v in value]


class Makefile:
    """Just enough of make: variables (=, :=, ?=), rules, tab-indented recipes, $(VAR) expansion."""

    def __init__(self, text: str) -> None:
        self.variables: dict[str, str] = {}
        self.rules: dict[str, tuple[list[str], list[str]]] = {}
        target: str | None = None
        for line in text.splitlines():
            if line.startswith("\t") and target is not None:
                self.rules[target][1].append(line.strip())
                continue
            target = None
            if not line.strip() or line.startswith("#"):
                continue
            assignment = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)\s*(\?=|:=|=)\s*(.*)$", line)
            if assignment:
                self.variables[assignment.group(1)] = assignment.group(3).strip()
                continue
            rule = re.match(r"^([^:=\t]+):(?!=)(.*)$", line)
            if rule and not line.startswith("."):
                target = self.expand(rule.group(1).strip())
                prerequisites = [self.expand(p) for p in rule.group(2).split() if p != "|"]
                self.rules[target] = (prerequisites, [])

    def expand(self, text: str) -> str:
        for _ in range(10):
            expanded = re.sub(
                r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: self.variables.get(m.group(1), ""), text
            )
            if expanded == text:
                break
            text = expanded
        return text.replace("$@", "")

    def steps(self, target: str) -> list[str]:
        """Every recipe line `make target` runs, prerequisites first, each rule once."""
        seen: set[str] = set()
        out: list[str] = []

        def visit(name: str) -> None:
            if name in seen or name not in self.rules:
                return
            seen.add(name)
            prerequisites, recipe = self.rules[name]
            for p in prerequisites:
                visit(p)
            out.extend(self.expand(line) for line in recipe)

        visit(target)
        return out


# -- normalising commands so that `make serve` and the image can be compared -----------------

MODELS = "<models>"


def normalise(command: str, models_dir: str, env: dict[str, str] | None = None) -> list[str]:
    """argv with program paths stripped (.venv/bin/firth -> firth), `python -m pip` -> pip, no
    editable flag, no `dev` extra (the image leaves the dev tools out) and the models dir as a token."""
    for key, value in (env or {}).items():
        command = command.replace("${" + key + "}", value).replace("$" + key, value)

    def token(arg: str) -> str:
        extras = re.fullmatch(r"\.\[(.*)\]", arg)
        if extras:
            return ".[" + ",".join(e for e in extras.group(1).split(",") if e != "dev") + "]"
        if arg == models_dir or arg.startswith(models_dir + "/"):
            return MODELS + arg[len(models_dir) :]
        return arg

    assignments, argv = split_env(shlex.split(command))
    argv[0] = Path(argv[0]).name
    if argv[:3] in (["python", "-m", "pip"], ["python3", "-m", "pip"]):
        argv = ["pip", *argv[3:]]
    return [f"{k}={token(v)}" for k, v in assignments.items()] + [token(a) for a in argv if a != "-e"]


def is_bookkeeping(argv: list[str]) -> bool:
    """Steps a container does not need: the virtualenv itself and make's stamp file."""
    return argv[0] == "touch" or argv[1:3] == ["-m", "venv"]


def is_user_setup(run: str) -> bool:
    """The image's own step that creates its unprivileged user (make serve runs as the caller)."""
    return run.startswith("useradd ")


def split_env(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    env: dict[str, str] = {}
    while argv and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", argv[0]):
        key, _, value = argv[0].partition("=")
        env[key] = value
        argv = argv[1:]
    return env, argv


# -- compose: a real validator ---------------------------------------------------------------


def compose_command() -> list[str] | None:
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def run_compose(args: list[str], compose_file: Path) -> subprocess.CompletedProcess[str]:
    command = compose_command()
    if command is None:
        pytest.skip("no compose validator (apt-get install -y docker-compose; .ci/run does)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_"))}
    return subprocess.run(
        [*command, "-f", str(compose_file), "--project-directory", str(REPO), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


@pytest.mark.parametrize(
    "profile",
    [[], ["--profile", "train"], ["--profile", "replicas"]],
    ids=["default", "train-profile", "replicas-profile"],
)
def test_compose_file_is_valid(profile: list[str]) -> None:
    done = run_compose([*profile, "config", "-q"], COMPOSE)
    assert done.returncode == 0, done.stderr


def test_compose_validator_rejects_a_broken_file(tmp_path: Path) -> None:
    broken = load_compose()
    broken["services"]["service"]["healthcheck"]["tests"] = broken["services"]["service"]["healthcheck"].pop(
        "test"
    )
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(broken))
    done = run_compose(["config", "-q"], path)
    assert done.returncode != 0
    assert "tests" in done.stderr


# -- compose: what the service and the trainer must be ---------------------------------------


def volume_mounts(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """target -> {source, type, read_only}, from the long or the short (src:dst[:ro]) syntax."""
    mounts: dict[str, dict[str, Any]] = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            parts = volume.split(":")
            source, target = parts[0], parts[1]
            kind = "bind" if source.startswith((".", "/", "~")) else "volume"
            mounts[target] = {"source": source, "type": kind, "read_only": "ro" in parts[2:]}
        else:
            mounts[volume["target"]] = {
                "source": volume.get("source"),
                "type": volume.get("type", "volume"),
                "read_only": bool(volume.get("read_only", False)),
            }
    return mounts


def test_service_models_read_only_and_indexes_on_a_writable_named_volume() -> None:
    compose = load_compose()
    service = compose["services"]["service"]
    env = service["environment"]
    mounts = volume_mounts(service)
    models, indexes = mounts[env["FIRTH_MODELS_DIR"]], mounts[env["FIRTH_INDEX_DIR"]]
    assert models["read_only"] is True
    assert indexes["read_only"] is False
    assert indexes["type"] == "volume" and indexes["source"] in compose["volumes"]
    assert env["FIRTH_HOST"] == "0.0.0.0"  # reachable through the published port
    container_ports = {str(p).rsplit(":", 1)[-1].split("/")[0] for p in service["ports"]}
    assert str(env["FIRTH_PORT"]) in container_ports


def test_trainer_is_a_one_off_job_that_writes_into_the_models_volume() -> None:
    compose = load_compose()
    trainer, service = compose["services"]["trainer"], compose["services"]["service"]
    assert "train" in trainer["profiles"]
    assert "profiles" not in service  # `docker compose up` starts the service, never the trainer
    assert "restart" not in trainer and "ports" not in trainer
    models_dir = service["environment"]["FIRTH_MODELS_DIR"]
    trainer_models = volume_mounts(trainer)[models_dir]
    assert trainer_models["source"] == volume_mounts(service)[models_dir]["source"]
    assert trainer_models["read_only"] is False
    command = trainer["command"]
    assert command[:2] == ["firth", "train"]
    out = command[command.index("--out") + 1]
    assert out.startswith(models_dir + "/")


def test_trainer_command_parses_with_firths_cli() -> None:
    from trainer.cli import build_parser

    parser = build_parser()
    subcommands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    if "train" not in subcommands.choices:
        pytest.skip("`firth train` is not registered yet")
    command = load_compose()["services"]["trainer"]["command"]
    args = parser.parse_args(command[1:])  # argparse exits (SystemExit) on an unknown flag
    assert args.command == "train"


def replica_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in compose["services"].items()
        if "replicas" in service.get("profiles", [])
        and service["image"] == compose["services"]["service"]["image"]
    }


def test_replicas_profile_runs_the_service_behind_nginx() -> None:
    from tests.nginx_process import FIRTH_CONF, listen_port, upstream_servers

    compose = load_compose()
    service = compose["services"]["service"]
    replicas = replica_services(compose)
    assert len(replicas) >= 2

    def configuration(env: dict[str, str]) -> dict[str, str]:
        return {key: value for key, value in env.items() if key != "FIRTH_WORKERS"}

    for replica in replicas.values():
        # a replica is the service: the same settings (kept in step by hand: the anchor is separate)
        assert configuration(replica["environment"]) == configuration(service["environment"])
        assert replica["environment"]["FIRTH_WORKERS"] == "1"  # one process a replica: nginx spreads the load
        assert replica["healthcheck"]["test"] == service["healthcheck"]["test"]  # /readyz, run for real above
        assert volume_mounts(replica) == volume_mounts(service)  # models read-only, the same volumes
        assert "ports" not in replica  # reachable only through nginx
        assert replica["restart"] == "unless-stopped"

    nginx = compose["services"]["nginx"]
    assert nginx["profiles"] == ["replicas"]
    assert nginx["image"].startswith("nginx:")
    # started only once every replica's /readyz answers (nginx itself has no active health checks)
    assert nginx["depends_on"] == {name: {"condition": "service_healthy"} for name in replicas}
    (conf,) = [m for m in volume_mounts(nginx).values() if m["type"] == "bind"]
    assert (REPO / conf["source"]).resolve() == FIRTH_CONF and conf["read_only"] is True
    assert "/etc/nginx/conf.d/default.conf" in volume_mounts(nginx)  # in place of the image's default site

    text = FIRTH_CONF.read_text()
    assert upstream_servers(text) == [
        (name, int(r["environment"]["FIRTH_PORT"])) for name, r in replicas.items()
    ]
    published = {str(p).split(":")[0]: str(p).rsplit(":", 1)[-1] for p in nginx["ports"]}
    assert published == {"127.0.0.1": str(listen_port(text))}  # on loopback, like the service


class _Readyz(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/readyz" else 404)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def readyz_server() -> Iterator[http.server.HTTPServer]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Readyz)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def run_healthcheck(test: list[str], port: int) -> int:
    assert test[0] == "CMD" and test[1] == "python", "slim images have python, not curl"
    argv = [sys.executable, *[a.replace("127.0.0.1:8000", f"127.0.0.1:{port}") for a in test[2:]]]
    return subprocess.run(argv, capture_output=True, timeout=30).returncode


@pytest.mark.parametrize("source", ["compose", "Dockerfile"])
def test_healthcheck_passes_only_when_readyz_answers_200(
    source: str, readyz_server: http.server.HTTPServer
) -> None:
    if source == "compose":
        service = load_compose()["services"]["service"]
        test = service["healthcheck"]["test"]
        assert f"127.0.0.1:{service['environment']['FIRTH_PORT']}/readyz" in " ".join(test)
    else:
        (rest,) = [r for k, r in dockerfile_instructions(DOCKERFILE.read_text()) if k == "HEALTHCHECK"]
        test = ["CMD", *exec_form(rest.split(" CMD ", 1)[1])]
        assert "127.0.0.1:8000/readyz" in " ".join(test)
    port = readyz_server.server_address[1]
    _Readyz.status = 200
    assert run_healthcheck(test, port) == 0
    _Readyz.status = 503
    try:
        assert run_healthcheck(test, port) != 0
    finally:
        _Readyz.status = 200


# -- the image runs `make serve`'s steps ------------------------------------------------------


def test_dockerfile_runs_the_makefile_serve_steps() -> None:
    make = Makefile(MAKEFILE.read_text())
    models_dir = make.variables["MODELS_DIR"]
    make_steps = [normalise(s, models_dir) for s in make.steps("serve")]
    make_steps = [s for s in make_steps if not is_bookkeeping(s)]
    *make_build, make_serve = make_steps

    instructions = dockerfile_instructions(DOCKERFILE.read_text())
    assert instructions[0] == ("FROM", "python:3.11-slim")
    env = dockerfile_env(instructions)
    image_models = env["FIRTH_MODELS_DIR"]
    runs = [r for k, r in instructions if k == "RUN" and not is_user_setup(r)]
    assert not any("dev" in extras.split(",") for r in runs for extras in re.findall(r"\.\[([^\]]*)\]", r))
    image_build = [normalise(r, image_models, env) for r in runs]
    assert image_build == make_build
    assert any(s[:3] == ["firth", "import", "kumo"] for s in image_build)

    (cmd,) = [exec_form(r) for k, r in instructions if k == "CMD"]
    serve_env, serve_argv = split_env(make_serve)
    assert cmd[0] == serve_argv[0] == "firth-serve"
    # Whatever `make serve` passes as a flag or variable, the image sets as FIRTH_* environment.
    flags = {f"FIRTH_{a[2:].replace('-', '_').upper()}" for a in serve_argv[1:] if a.startswith("--")}
    for key in {*serve_env, *flags}:
        assert key in env, f"make serve sets {key}; the image does not"
    assert serve_env["FIRTH_MODELS_DIR"] == MODELS
    assert image_models == "/models"


def test_image_serves_as_an_unprivileged_user_owning_its_volumes() -> None:
    instructions = dockerfile_instructions(DOCKERFILE.read_text())
    env = dockerfile_env(instructions)
    users = [(i, r) for i, (k, r) in enumerate(instructions) if k == "USER"]
    assert users, "the image would run as root"
    position, user = users[-1]
    assert user not in ("root", "0", "0:0")
    assert position < next(i for i, (k, _) in enumerate(instructions) if k == "CMD")
    (setup,) = [r for k, r in instructions if k == "RUN" and is_user_setup(r)]
    argv = shlex.split(
        setup.replace("${FIRTH_MODELS_DIR}", env["FIRTH_MODELS_DIR"]).replace(
            "${FIRTH_INDEX_DIR}", env["FIRTH_INDEX_DIR"]
        )
    )
    assert user in argv[argv.index("useradd") :]
    chown = argv[argv.index("chown") :]
    assert f"{user}:{user}" in chown or user in chown
    assert {env["FIRTH_MODELS_DIR"], env["FIRTH_INDEX_DIR"]} <= set(chown)
    # ... and the default model is imported as that user, so the model files are its own (no chown
    # that would copy them into a second layer).
    kinds = [(k, r) for k, r in instructions if k in ("RUN", "USER")]
    imported = next(i for i, (k, r) in enumerate(kinds) if "firth import kumo" in r)
    assert kinds.index(("USER", user)) < imported and kinds.index(("RUN", setup)) < imported
    assert "-R" not in chown
    # numba caches compiled kernels beside the package unless told otherwise: not writable for it.
    assert env["NUMBA_CACHE_DIR"].startswith("/tmp/")


def test_image_environment_configures_firth_serve(monkeypatch: pytest.MonkeyPatch) -> None:
    from service.__main__ import parse_args
    from service.settings import Settings

    env = dockerfile_env(dockerfile_instructions(DOCKERFILE.read_text()))
    for key in [k for k in os.environ if k.startswith("FIRTH_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    args = parse_args([])
    assert (args.host, args.port, args.workers) == ("0.0.0.0", 8000, int(env["FIRTH_WORKERS"]))
    settings = Settings.from_env()
    assert settings.models_dir == Path("/models")
    assert settings.index_dir == Path("/indexes")
