"""docker-compose.yml, the Dockerfile and `make serve`, checked without a Docker engine.

- The compose file passes a real validator (`docker-compose config -q`, Debian's docker-compose,
  which `make test` installs; or `docker compose` where the plugin exists), which rejects a broken file.
- The image's FIRTH_* environment and command are read by the real Settings class: the address it
  then listens on is the one EXPOSEd, published by compose and probed by both healthchecks, whose
  command is run against a live HTTP server; compose mounts the models read-only and the indexes on
  a writable named volume where those settings point.
- The trainer is a one-off job behind a profile whose command parses with firth's own CLI.
- The `replicas` profile: firth replicas (the service's image, volumes and healthcheck, no published
  port) behind nginx, which starts once they are healthy and runs deploy/nginx/firth.conf, whose
  upstream names exactly those replicas (tests/e2e/test_replicas.py runs that file for real).
- `make serve` passes no setting of its own unless asked on make's command line.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
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

from firth_service.settings import Settings, env_name

REPO = Path(__file__).resolve().parent.parent
COMPOSE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
SETTING_VARIABLES = {env_name(name) for name in Settings.model_fields}


def load_compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, rest = (pending + line).partition(" ")
        pending = ""
        instructions.append((keyword.upper(), rest.strip()))
    return instructions


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, rest in dockerfile_instructions():
        if keyword == "ENV":
            env.update(item.partition("=")[::2] for item in shlex.split(rest))
    return env


def exec_form(rest: str) -> list[str]:
    value = json.loads(rest)
    assert isinstance(value, list), f"use the exec (JSON) form: {rest}"
    return [str(v) for v in value]


@pytest.fixture
def image_settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    """What firth-serve in the image runs with: the image's environment and CMD, read by Settings."""
    for key in [k for k in os.environ if k.startswith("FIRTH_")]:
        monkeypatch.delenv(key)
    for key, value in image_env().items():
        monkeypatch.setenv(key, value)
    (cmd,) = [exec_form(r) for k, r in dockerfile_instructions() if k == "CMD"]
    assert cmd[0] == "firth-serve"
    return Settings.from_cli(cmd[1:])


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
        pytest.skip("no compose validator: `make test` installs Debian's docker-compose")
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
    healthcheck = broken["services"]["service"]["healthcheck"]
    healthcheck["tests"] = healthcheck.pop("test")
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(broken))
    done = run_compose(["config", "-q"], path)
    assert done.returncode != 0
    assert "tests" in done.stderr


# -- the image's settings, and compose around them --------------------------------------------


def test_image_sets_only_real_settings() -> None:
    image = {k for k in image_env() if k.startswith("FIRTH_")}
    compose = {k for s in load_compose()["services"].values() for k in s.get("environment", {})}
    assert image | compose <= SETTING_VARIABLES, "a FIRTH_* variable no setting reads"


def test_image_listens_where_it_is_exposed_and_published(image_settings: Settings) -> None:
    assert image_settings.host == "0.0.0.0"  # reachable from outside the container
    exposed = {r.split("/")[0] for k, r in dockerfile_instructions() if k == "EXPOSE"}
    assert exposed == {str(image_settings.port)}
    service = load_compose()["services"]["service"]
    container_ports = {str(p).rsplit(":", 1)[-1].split("/")[0] for p in service["ports"]}
    assert container_ports == {str(image_settings.port)}


def seconds(duration: str) -> float:
    """Compose's duration ("30s", "1m30s", "1.5s") in seconds."""
    total, number = 0.0, ""
    for char in duration:
        if char.isdigit() or char == ".":
            number += char
        else:
            total += float(number) * {"h": 3600, "m": 60, "s": 1}[char]
            number = ""
    assert not number, f"a duration without a unit: {duration!r}"
    return total


def test_the_stop_grace_period_outlasts_the_drain(image_settings: Settings) -> None:
    """Docker SIGKILLs a container its stop timeout (10 s unless set) after SIGTERM; firth-serve
    needs the drain plus a moment to exit 0 (service/workers.py)."""
    service = load_compose()["services"]["service"]
    assert "stop_grace_period" in service, "Docker's default 10 s would cut the 20 s drain"
    assert seconds(service["stop_grace_period"]) >= image_settings.drain_seconds + 5


def volume_mounts(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """target -> the mount, from compose's long syntax (the file uses no other)."""
    return {volume["target"]: volume for volume in service.get("volumes", [])}


def test_service_models_read_only_and_indexes_on_a_writable_named_volume(image_settings: Settings) -> None:
    compose = load_compose()
    mounts = volume_mounts(compose["services"]["service"])
    assert image_settings.index_dir is not None
    models, indexes = mounts[str(image_settings.models_dir)], mounts[str(image_settings.index_dir)]
    assert models["read_only"] is True
    assert not indexes.get("read_only", False)
    assert indexes["type"] == "volume" and indexes["source"] in compose["volumes"]


def test_trainer_is_a_one_off_job_that_writes_into_the_models_volume(image_settings: Settings) -> None:
    services = load_compose()["services"]
    trainer, service = services["trainer"], services["service"]
    assert "train" in trainer["profiles"]
    assert "profiles" not in service  # `docker compose up` starts the service, never the trainer
    assert "restart" not in trainer and "ports" not in trainer
    models_dir = str(image_settings.models_dir)
    trainer_models = volume_mounts(trainer)[models_dir]
    assert trainer_models["source"] == volume_mounts(service)[models_dir]["source"]
    assert not trainer_models.get("read_only", False)
    command = trainer["command"]
    assert command[:2] == ["firth", "train"]
    assert command[command.index("--out") + 1].startswith(models_dir + "/")


def test_trainer_command_parses_with_firths_cli() -> None:
    from firth_trainer.cli import build_parser

    parser = build_parser()
    subcommands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert "train" in subcommands.choices
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


def test_replicas_profile_runs_the_service_behind_nginx(image_settings: Settings) -> None:
    sys.path.insert(0, str(REPO / "bench"))
    from nginx_process import FIRTH_CONF, listen_port, upstream_servers

    compose = load_compose()
    service = compose["services"]["service"]
    replicas = replica_services(compose)
    assert len(replicas) >= 2

    for replica in replicas.values():
        # a replica is the service: the image's settings, but one process a replica (nginx spreads the load)
        assert "environment" not in service
        assert replica["environment"] == {"FIRTH_WORKERS": "1"}
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
    assert upstream_servers(text) == [(name, image_settings.port) for name in replicas]
    published = {str(p).split(":")[0]: str(p).rsplit(":", 1)[-1] for p in nginx["ports"]}
    assert published == {"127.0.0.1": str(listen_port(text))}  # on loopback, like the service


# -- the healthchecks, run against a live /readyz ---------------------------------------------


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


@pytest.mark.parametrize("source", ["compose", "Dockerfile"])
def test_healthcheck_passes_only_when_readyz_answers_200(
    source: str, readyz_server: http.server.HTTPServer, image_settings: Settings
) -> None:
    if source == "compose":
        test = load_compose()["services"]["service"]["healthcheck"]["test"]
    else:
        (rest,) = [r for k, r in dockerfile_instructions() if k == "HEALTHCHECK"]
        test = ["CMD", *exec_form(rest.split(" CMD ", 1)[1])]
    assert test[0] == "CMD" and test[1] == "python", "slim images have python, not curl"
    url = f"127.0.0.1:{image_settings.port}/readyz"
    assert url in " ".join(test)
    argv = [
        sys.executable,
        *[a.replace(url, f"127.0.0.1:{readyz_server.server_address[1]}/readyz") for a in test[2:]],
    ]

    def probe() -> int:
        return subprocess.run(argv, capture_output=True, timeout=30).returncode

    _Readyz.status = 200
    assert probe() == 0
    _Readyz.status = 503
    try:
        assert probe() != 0
    finally:
        _Readyz.status = 200


# -- the image is built and run as an unprivileged user ----------------------------------------


def test_image_serves_as_an_unprivileged_user_owning_its_volumes(image_settings: Settings) -> None:
    instructions = dockerfile_instructions()
    env = image_env()
    runs = [r for k, r in instructions if k == "RUN"]
    assert instructions[0] == ("FROM", "python:3.11-slim")
    assert any("'.[default-model]'" in r for r in runs), "the image installs the default model's extra"
    assert not any("dev" in r for r in runs if "pip install" in r), "no dev tools in the image"
    users = [(i, r) for i, (k, r) in enumerate(instructions) if k == "USER"]
    assert users, "the image would run as root"
    position, user = users[-1]
    assert user not in ("root", "0", "0:0")
    assert position < next(i for i, (k, _) in enumerate(instructions) if k == "CMD")
    (setup,) = [r for r in runs if r.startswith("useradd ")]
    argv = shlex.split(
        setup.replace("${FIRTH_MODELS_DIR}", env["FIRTH_MODELS_DIR"]).replace(
            "${FIRTH_INDEX_DIR}", env["FIRTH_INDEX_DIR"]
        )
    )
    assert user in argv[argv.index("useradd") :]
    chown = argv[argv.index("chown") :]
    assert f"{user}:{user}" in chown and "-R" not in chown
    assert {str(image_settings.models_dir), str(image_settings.index_dir)} <= set(chown)
    # The default model is imported as that user, into the directory firth-serve reads, so the
    # model files are its own (no chown that would copy them into a second layer).
    kinds = [(k, r) for k, r in instructions if k in ("RUN", "USER")]
    (imported,) = [i for i, (k, r) in enumerate(kinds) if r.startswith("firth import kumo")]
    assert kinds.index(("USER", user)) < imported and kinds.index(("RUN", setup)) < imported
    out = shlex.split(kinds[imported][1].replace("${FIRTH_MODELS_DIR}", env["FIRTH_MODELS_DIR"]))
    assert Path(out[out.index("--out") + 1]).parent == image_settings.models_dir
    # numba caches compiled kernels beside the package unless told otherwise: not writable for it.
    assert env["NUMBA_CACHE_DIR"].startswith("/tmp/")


# -- make serve --------------------------------------------------------------------------------


def make_serve_command(*variables: str) -> list[str]:
    if shutil.which("make") is None:
        pytest.skip("no make")
    done = subprocess.run(
        ["make", "-n", "--always-make", "serve", *variables],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k not in ("HOST", "PORT", "WORKERS")},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    (line,) = [line for line in done.stdout.splitlines() if "firth-serve" in line]
    return shlex.split(line)


def test_make_serve_leaves_the_settings_to_firth_serve() -> None:
    argv = make_serve_command()
    assert Path(argv[-1]).name == "firth-serve"  # no flags: firth-serve's own defaults
    flags = make_serve_command("PORT=9000", "WORKERS=3")
    assert flags[flags.index("--port") + 1] == "9000" and flags[flags.index("--workers") + 1] == "3"
    assert "--host" not in flags
