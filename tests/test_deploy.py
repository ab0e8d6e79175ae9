"""deploy/: the docker compose stack (app, Dask scheduler, two workers, the nightly CLI) and its image, checked as
files: docker is not needed to run these tests. What they guard: one image everywhere, the shared volume at the same
path, loopback publishing, the mounted (never baked) secrets, a non-root user and OMP_WAIT_POLICY=PASSIVE."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml", reason="PyYAML (a dependency of dask, in requirements.txt) reads the compose file")

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "docker-compose.yml"
DOCKERFILE = DEPLOY / "Dockerfile"
DATA_MOUNT = "/data"
SECRETS_TARGET = "/app/.streamlit/secrets.toml"


@pytest.fixture(scope="module")
def services() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]


def default(value: str) -> str:
    """A compose value with its ${NAME:-default} variables replaced by their defaults (what runs with no .env)."""
    return re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", str(value))


def volume_mounts(service: dict) -> dict[str, dict]:
    """target -> {source, read_only, type} for the service's volumes, short or long syntax."""
    mounts = {}
    for entry in service.get("volumes", []):
        if isinstance(entry, str):
            source, target, *mode = entry.split(":")
            mounts[target] = {"source": source, "read_only": mode == ["ro"], "type": "volume"}
        else:
            mounts[entry["target"]] = {"source": entry["source"], "read_only": bool(entry.get("read_only")),
                                       "type": entry.get("type", "volume"), "bind": entry.get("bind", {})}
    return mounts


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, comments dropped and continuation lines joined."""
    lines = [line for line in DOCKERFILE.read_text(encoding="utf-8").splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip() if " " in line.strip() else "")
            for line in joined.splitlines() if line.strip()]


# -- the services --------------------------------------------------------------------------------------------------

def test_the_stack_has_the_app_a_scheduler_two_workers_and_an_on_demand_cli(services):
    assert {"app", "scheduler", "worker", "cli"} <= set(services)
    assert services["worker"]["deploy"]["replicas"] == 2
    assert services["cli"]["profiles"] == ["cli"], "the nightly CLI must not start with `docker compose up`"
    assert "app" not in services["cli"].get("depends_on", {}), "cluster jobs run from the CLI, not through the page"
    assert "depends_on" not in services["app"], "the page only reads stored results: it needs no cluster to start"


def test_every_service_runs_the_same_image_built_from_the_deploy_dockerfile(services):
    images = {name: s.get("image") for name, s in services.items()}
    assert len(set(images.values())) == 1 and None not in images.values(), images
    builds = {name: (s["build"]["context"], s["build"]["dockerfile"]) for name, s in services.items()}
    assert set(builds.values()) == {("..", "deploy/Dockerfile")}, builds
    assert (COMPOSE.parent / ".." / "deploy" / "Dockerfile").resolve() == DOCKERFILE


def test_the_shared_volume_is_mounted_at_the_same_path_wherever_data_is_read(services):
    for name in ("app", "worker", "cli"):
        mounts = volume_mounts(services[name])
        assert mounts.get(DATA_MOUNT, {}).get("source") == "churn-data", (name, mounts)
        env = services[name]["environment"]
        assert env["CHURN_RADAR_DB"] == f"{DATA_MOUNT}/churn.duckdb", name
        assert env["CHURN_RADAR_PARQUET"] == f"{DATA_MOUNT}/parquet", name
        assert env["OMP_WAIT_POLICY"] == "PASSIVE", name
    assert DATA_MOUNT not in volume_mounts(services["scheduler"]), "the scheduler reads no data"


def test_the_app_is_published_on_loopback_and_the_scheduler_port_is_internal(services):
    app_ports = [default(p) for p in services["app"]["ports"]]
    assert app_ports == ["127.0.0.1:8501:8501"]
    scheduler = services["scheduler"]
    assert [str(p) for p in scheduler["expose"]] == ["8786"]
    published = [default(p) for p in scheduler.get("ports", [])]
    assert all(p.startswith("127.0.0.1:") for p in published), published
    assert not any(p.endswith(":8786") for p in published), "whoever reaches a Dask scheduler can run code"


def test_the_app_listens_beyond_loopback_only_with_the_secrets_file_mounted(services):
    app = services["app"]
    command = app["command"]
    assert command[command.index("--server.address") + 1] == "0.0.0.0"
    secrets = volume_mounts(app)[SECRETS_TARGET]
    assert secrets["type"] == "bind" and secrets["read_only"], secrets
    assert secrets["bind"] == {"create_host_path": False}, "a missing secrets file must stop `up`"
    assert default(secrets["source"]) == "./secrets.toml"
    assert "CHURN_RADAR_ALLOW_OPEN_LOCAL" not in COMPOSE.read_text(encoding="utf-8")
    assert app["environment"]["CHURN_RADAR_AUTH_SECRET"] == "${CHURN_RADAR_AUTH_SECRET:-}", "from the environment only"


def test_the_workers_and_the_cli_talk_to_the_compose_scheduler(services):
    scheduler = services["scheduler"]["command"]
    assert scheduler[:2] == ["dask", "scheduler"] and scheduler[scheduler.index("--port") + 1] == "8786"
    worker = [default(part) for part in services["worker"]["command"]]
    assert worker[:3] == ["dask", "worker", "tcp://scheduler:8786"]
    assert worker[worker.index("--nthreads") + 1] == "1"
    assert re.fullmatch(r"\d+(GiB|GB|MiB|MB)", worker[worker.index("--memory-limit") + 1]), worker
    cli = services["cli"]["command"]
    assert cli[:4] == ["python", "-m", "churn_core", "score"]
    assert cli[cli.index("--engine") + 1] == "dask"
    assert cli[cli.index("--scheduler") + 1] == "tcp://scheduler:8786"


def test_the_cli_service_command_is_one_the_command_line_accepts(services):
    from churn_core.__main__ import build_parser

    argv = [default(part) for part in services["cli"]["command"][3:]]
    known, _ = build_parser().parse_known_args(["score", "--out", "x.csv"])
    if not hasattr(known, "engine"):
        pytest.skip("the CLI's --engine/--scheduler options (issue 18, the engine switch) are not on this branch")
    args = build_parser().parse_args(argv)
    assert (args.engine, args.scheduler, args.events) == ("dask", "tcp://scheduler:8786", "/data/inbox/visits.csv.gz")


# -- no secrets in the files ---------------------------------------------------------------------------------------

SECRET_PATTERNS = {
    "an argon2 hash": r"\$argon2(id|i|d)\$",
    "a password hash setting": r"analyst_password_hash\s*=",
    "a session secret setting": r"session_secret\s*=",
    "an OIDC secret": r"(client_secret|cookie_secret)\s*=",
    "a cookie key with a value": r"(?<!\{)CHURN_RADAR_AUTH_SECRET[ \t]*[:=][ \t]*[^\s#$]",
    "a cloud key with a value": r"(?<!\{)(AWS_SECRET_ACCESS_KEY|AWS_ACCESS_KEY_ID)[ \t]*[:=][ \t]*[^\s#$]",
    "a long random-looking token": r"\b[A-Fa-f0-9]{32,}\b|\b[A-Za-z0-9+/]{40,}={0,2}",
}


@pytest.mark.parametrize("name", ["Dockerfile", "Dockerfile.dockerignore", "docker-compose.yml", "README.md"])
def test_no_secret_values_in_the_deploy_files(name):
    text = (DEPLOY / name).read_text(encoding="utf-8")
    found = {kind for kind, pattern in SECRET_PATTERNS.items() if re.search(pattern, text)}
    assert not found, f"{name} holds {sorted(found)}: secrets are mounted or passed at run time"


def test_the_secret_pattern_check_bites():
    leaked = 'CHURN_RADAR_AUTH_SECRET: 3f2a9c0d4b5e6f708192a3b4c5d6e7f8\nanalyst_password_hash = "$argon2id$v=19$m"'
    found = {kind for kind, pattern in SECRET_PATTERNS.items() if re.search(pattern, leaked)}
    assert {"an argon2 hash", "a password hash setting", "a cookie key with a value"} <= found


def test_the_local_secrets_and_settings_files_are_git_ignored():
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert {"deploy/secrets.toml", "deploy/.env", ".streamlit/secrets.toml"} <= set(ignored)


# -- the image -----------------------------------------------------------------------------------------------------

def test_the_image_is_python_311_slim_runs_as_non_root_and_sets_omp_wait_policy():
    instructions = dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    users = [args for op, args in instructions if op == "USER"]
    assert users, "the image must switch to a non-root user"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}, users
    assert [i for i, (op, _) in enumerate(instructions) if op == "USER"][-1] > max(
        i for i, (op, _) in enumerate(instructions) if op in {"RUN", "COPY"}), "nothing may run as root after USER"
    env = " ".join(args for op, args in instructions if op == "ENV")
    assert re.search(r"(^|\s)OMP_WAIT_POLICY=PASSIVE(\s|$)", env), env
    assert "CHURN_RADAR_DB=/data/churn.duckdb" in env and "CHURN_RADAR_PARQUET=/data/parquet" in env
    assert "requirements.txt" in " ".join(args for op, args in instructions if op == "RUN")


def test_the_image_copies_named_files_that_exist_and_never_the_secrets():
    copies = [shlex.split(args) for op, args in dockerfile_instructions() if op in {"COPY", "ADD"}]
    assert copies, "the Dockerfile copies the app"
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
    for parts in copies:
        sources = [p for p in parts[:-1] if not p.startswith("--")]
        for source in sources:
            assert source.rstrip("/") not in {".", "./", ".streamlit"}, f"COPY {source} could carry secrets.toml"
            assert "secrets" not in source and not source.endswith((".duckdb", ".key")), source
            assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"
            assert f"!{source.rstrip('/')}" in ignore, f"{source} is left out of the build context"
