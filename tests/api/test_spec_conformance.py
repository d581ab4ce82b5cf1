"""The OpenAPI document tells the truth: schemathesis (pinned in requirements/dev.in)
generates requests from /openapi.json and checks every answer against it, as an
integrator's CI would, as an employee, an agent and an admin.

Checks: not_a_server_error, status_code_conformance, content_type_conformance,
response_schema_conformance; phases: examples, fuzzing and the stateful phase
over the document's links (submit → read → reply) for every role, and the
coverage phase (boundary and invalid values) once, as the employee. A bounded,
seeded run (MAX_EXAMPLES per operation, SEED) keeps it repeatable and inside
the build's time budget; any failure fails the build, and so does a stateful
phase that followed none of the links it is there for.

Every run has a session of its own: logging out revokes the token a run uses, so
`logout` runs on its own; so does the live stream (Server-Sent Events), read for
STREAM_SECONDS a request, as it never ends by itself. The admin's changes to other
people's accounts (deactivate, set roles, erase) end those people's sessions, so
they run last, once the employee and the agent are done; a run that was answered
`token_revoked` anyway fails the test, as it no longer fuzzed as its role.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
# The stateful phase: more scenarios than one operation's examples, longer ones.
STATEFUL = """
[phases.stateful]
max-steps = {steps}
[phases.stateful.generation]
max-examples = {scenarios}
"""
# The links the stateful phase is there for (submit → read, submit → reply), as
# schemathesis names a link it followed. Which links a run follows is drawn at
# random (the server's answers feed the draws, so the seed does not fix them):
# every role's run follows links, and each of these links is followed by some
# role's run (the free-text fields state their rule as a pattern, so generated
# tickets are accepted). Asking every role for a link out of a ticket it submitted
# failed a clean run once: the admin's scenarios went to attachments and webhooks.
REQUIRED_LINKS = {
    "POST /api/v1/tickets -> [201] GetTicket -> GET /api/v1/tickets/{ticket_id}",
    "POST /api/v1/tickets -> [201] AddMessage -> POST /api/v1/tickets/{ticket_id}/messages",
}
# The admin's operations that end other people's sessions (after the other roles).
PEOPLE = ("users", "deactivate", "reactivate", "set_roles", "erase_user")
STREAM_SECONDS = 2  # how long one request reads the endless stream


@dataclass(frozen=True)
class Exchange:
    """One request of a run and its answer, from the run's ndjson report."""

    phase: str
    operation: str  # "POST /api/v1/tickets"
    status: int | None
    code: str | None  # the problem's `code`
    link: str | None  # the link the stateful phase followed to make this request


async def schemathesis(system: System, token: str, config: Path, reports: Path, *args: str) -> str:
    """Run the schemathesis CLI against the system; its output, which a failure fails
    the test with. Its reports (junit, ndjson) go to `reports`."""
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file",
        str(config),
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
        "--header",
        f"Authorization: Bearer {token}",
        "--report",
        "junit,ndjson",
        "--report-dir",
        str(reports),
        *args,
    ]
    process = await asyncio.create_subprocess_exec(
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=os.environ | {"NO_COLOR": "1", "SCHEMATHESIS_HOOKS": ""},
    )
    output, _ = await process.communicate()
    text = output.decode(errors="replace")
    print(text)
    assert process.returncode == 0, text[-5000:]
    return text


def _problem_code(response: dict[str, Any]) -> str | None:
    content = response.get("content")
    if not isinstance(content, dict) or (response.get("status_code") or 0) < 400:
        return None
    try:
        problem = json.loads(base64.b64decode(content["$base64"]))
    except (KeyError, ValueError):
        return None
    return problem.get("code") if isinstance(problem, dict) else None


def exchanges(reports: Path) -> Iterator[Exchange]:
    """Every request a run made, read from its ndjson report."""
    for report in reports.glob("*.ndjson"):
        for line in report.read_text().splitlines():
            finished = json.loads(line).get("ScenarioFinished")
            if finished is None:
                continue
            recorded = finished["recorder"]
            for case_id, interaction in recorded.get("interactions", {}).items():
                node = recorded["cases"][case_id]
                response = interaction.get("response") or {}
                applied = node.get("transition") and node.get("is_transition_applied")
                yield Exchange(
                    phase=finished["phase"],
                    operation=f"{node['value']['method']} {node['value']['path']}",
                    status=response.get("status_code"),
                    code=_problem_code(response),
                    link=node["transition"]["id"] if applied else None,
                )


async def test_every_operation_answers_as_its_document_says_to_every_role(
    api_system: System, callers: dict[Role, Caller], tmp_path: Path
) -> None:
    """The three roles at once (a run waits on the system more than it computes)."""
    runs = ("logout", "stream", "all", "people")
    async with httpx.AsyncClient(base_url=api_system.url, timeout=20) as client:
        sessions = {
            (caller.role, run): await log_in(client, caller.username)
            for caller in callers.values()
            for run in runs
        }
    config = tmp_path / "schemathesis.toml"
    config.write_text(STATEFUL.format(steps=10, scenarios=max(6 * MAX_EXAMPLES, 24)))

    def reports(role: Role, run: str) -> Path:
        return tmp_path / f"{role.value}-{run}"

    async def run(role: Role, name: str, *args: str) -> str:
        return await schemathesis(
            api_system, sessions[role, name], config, reports(role, name), *args
        )

    def only(*operation_ids: str) -> list[str]:
        return [arg for op in operation_ids for arg in ("--include-operation-id", op)]

    def all_but(*operation_ids: str) -> list[str]:
        return [arg for op in operation_ids for arg in ("--exclude-operation-id", op)]

    not_stateful = {role: PHASES_OF[role].replace(",stateful", "") for role in callers}
    await asyncio.gather(
        *(
            run(role, "logout", *only("logout"), "--phases", "examples,coverage")
            for role in callers
        ),
        *(
            run(
                role,
                "stream",
                *only("stream"),
                "--request-timeout",
                str(STREAM_SECONDS),
                "--phases",
                not_stateful[role],
            )
            for role in callers
        ),
        *(
            run(
                role,
                "all",
                *all_but("logout", "stream", *(PEOPLE[1:] if role is Role.ADMIN else ())),
                "--request-timeout",
                "20",
                "--phases",
                PHASES_OF[role],
            )
            for role in callers
        ),
    )
    await run(
        Role.ADMIN,
        "people",
        *only(*PEOPLE),
        "--request-timeout",
        "20",
        "--phases",
        PHASES_OF[Role.ADMIN],
    )

    for role in callers:
        for name in ("stream", "all"):
            revoked = [
                e.operation for e in exchanges(reports(role, name)) if e.code == "token_revoked"
            ]
            assert not revoked, f"the {role.value}'s session ended during its run: {revoked[:5]}"
    followed_by_any: set[str] = set()
    for role in callers:
        followed = {
            e.link for e in exchanges(reports(role, "all")) if e.phase == "stateful" and e.link
        }
        assert followed, f"the {role.value}'s stateful phase followed no link"
        followed_by_any |= followed
    assert followed_by_any >= REQUIRED_LINKS, sorted(followed_by_any)
