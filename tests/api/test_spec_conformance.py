"""The OpenAPI document tells the truth: schemathesis (pinned in requirements/dev.in)
generates requests from /openapi.json and checks every answer against it, as an
integrator's CI would, as an employee, an agent and an admin.

Checks: not_a_server_error, status_code_conformance, content_type_conformance,
response_schema_conformance; phases: examples, fuzzing and the stateful phase
over the document's links (submit → read → reply) for every role, and the
coverage phase (boundary and invalid values) once, as the employee. A bounded,
seeded run (MAX_EXAMPLES per operation, SEED) keeps it repeatable and inside
the build's time budget; any failure fails the build.

Logging out revokes the token a run uses, so `logout` runs on its own, with its own
session; the live stream (Server-Sent Events, endless) is left to its own tests.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import httpx
import pytest

from helpdesk.contracts.actors import Role
from tests.api.conftest import Caller, log_in
from tests.e2e.harness import System

pytestmark = pytest.mark.e2e

CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance"
)
PHASES = "examples,coverage,fuzzing,stateful"
# The coverage phase (boundary and invalid values of every field: what a role does
# not change) once, as the employee; the other roles fuzz and follow the links.
PHASES_OF = {
    Role.CUSTOMER: PHASES,
    Role.AGENT: "examples,fuzzing,stateful",
    Role.ADMIN: "examples,fuzzing,stateful",
}
MAX_EXAMPLES = int(os.environ.get("HELPDESK_API_FUZZ_EXAMPLES", "4"))
SEED = 31
# Server-Sent Events answer until the token expires: nothing a request-response fuzzer
# can check (GET /api/v1/stream has its own end-to-end tests).
ENDLESS = ("--exclude-operation-id", "stream")


async def schemathesis(system: System, token: str, report: Path, *args: str) -> tuple[int, str]:
    """Run the schemathesis CLI against the system; (exit code, its output)."""
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        f"{system.url}/openapi.json",
        "--checks",
        CHECKS,
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--no-shrink",
        "--workers",
        "1",  # the roles run side by side; hypothesis' AST cache is not thread-safe
        "--request-timeout",
        "20",
        "--header",
        f"Authorization: Bearer {token}",
        "--report",
        "junit",
        "--report-junit-path",
        str(report),
        *args,
    ]
    process = await asyncio.create_subprocess_exec(
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=os.environ | {"NO_COLOR": "1", "SCHEMATHESIS_HOOKS": ""},
    )
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode(errors="replace")


async def test_every_operation_answers_as_its_document_says_to_every_role(
    api_system: System, callers: dict[Role, Caller], tmp_path: Path
) -> None:
    """The three roles at once (a run waits on the system more than it computes).

    Every session is opened first: the admin's run may deactivate users it finds
    (GET /users links to them), which is a correct answer but ends their logins.
    This file runs after the other API tests of the system for the same reason."""
    async with httpx.AsyncClient(base_url=api_system.url, timeout=20) as client:
        sessions = {
            (caller.role, phase): await log_in(client, caller.username)
            for caller in callers.values()
            for phase in ("logout", "all")
        }

    async def run(role: Role, phase: str, *args: str) -> tuple[int, str]:
        report = tmp_path / f"{role.value}-{phase}.xml"
        return await schemathesis(api_system, sessions[role, phase], report, *args)

    # Each run has its own session, so logging out does not end the others'.
    logout = ("--phases", "examples,coverage", "--include-operation-id", "logout")
    everything = ("--exclude-operation-id", "logout", *ENDLESS, "--phases")
    results = await asyncio.gather(
        *(run(role, "logout", *logout) for role in callers),
        *(run(role, "all", *everything, PHASES_OF[role]) for role in callers),
    )
    for _code, output in results:
        print(output)
    failed = [output for code, output in results if code != 0]
    assert not failed, "\n".join(output[-5000:] for output in failed)
