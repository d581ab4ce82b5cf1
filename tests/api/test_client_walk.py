"""The README's walk through the API (register, activate, log in, submit, list,
reply, attach), through a client generated from /openapi.json by
openapi-python-client (pinned in requirements/dev.in) — the way an integrator
would use the document. Unknown statuses raise (`raise_on_unexpected_status`)
and every body is parsed into the generated models: if the document lies about
a status, a field or a type, this test fails."""

from __future__ import annotations

import asyncio
import importlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from tests.e2e.harness import System, mail_text

pytestmark = pytest.mark.e2e

PACKAGE = "helpdesk_api_client"
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def client_package(api_system: System, tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """Generated from the running gateway's document, as make test builds it."""
    where = tmp_path_factory.mktemp("client")
    document = where / "openapi.json"
    document.write_text(json.dumps(httpx.get(f"{api_system.url}/openapi.json").json()))
    bin_dir = Path(sys.executable).parent
    subprocess.run(
        [
            str(bin_dir / "openapi-python-client"),
            "generate",
            "--path",
            str(document),
            "--meta",
            "none",
            "--output-path",
            str(where / PACKAGE),
        ],
        check=True,
        capture_output=True,
        env=os.environ | {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    sys.path.insert(0, str(where))
    try:
        return importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(where))


def api(package: ModuleType, name: str) -> Any:
    """The generated module of operation `name` (by its operationId)."""
    for tag in ("accounts", "tickets", "attachments"):
        try:
            return importlib.import_module(f"{PACKAGE}.api.{tag}.{name}")
        except ModuleNotFoundError:
            continue
    raise LookupError(name)


async def test_the_readme_walk_through_the_generated_client(
    api_system: System, client_package: ModuleType
) -> None:
    models = importlib.import_module(f"{PACKAGE}.models")
    types = importlib.import_module(f"{PACKAGE}.types")
    anonymous = client_package.Client(
        base_url=api_system.url, raise_on_unexpected_status=True, timeout=httpx.Timeout(20)
    )

    registered = await api(client_package, "register").asyncio_detailed(
        client=anonymous,
        body=models.Registration(
            name="Μαρία Παπαδοπούλου",
            username="maria.client",
            email="maria.client@example.org",
            password=PASSWORD,
        ),
    )
    assert registered.status_code == 202, registered.content
    assert isinstance(registered.parsed, models.Registered)

    mail = await asyncio.to_thread(
        api_system.wait_for_mail, "maria.client@example.org", lambda m: "token=" in mail_text(m)
    )
    token = re.search(r"token=([^\s&\"<]+)", mail_text(mail))
    assert token is not None
    activated = await api(client_package, "activate").asyncio_detailed(
        client=anonymous,
        body=models.ActivationToken(token=unquote(token.group(1)), password=PASSWORD),
    )
    assert activated.status_code == 200, activated.content

    session = await api(client_package, "login").asyncio(
        client=anonymous, body=models.Credentials(username="maria.client", password=PASSWORD)
    )
    assert isinstance(session, models.SessionTokens), session
    me = client_package.AuthenticatedClient(
        base_url=api_system.url,
        token=session.access_token,
        raise_on_unexpected_status=True,
        timeout=httpx.Timeout(20),
    )
    profile = await api(client_package, "me").asyncio(client=me)
    assert profile.username == "maria.client"

    priorities = await api(client_package, "priorities").asyncio(client=anonymous)
    assert [p.key for p in priorities.items][-1].value == "critical"

    submitted = await api(client_package, "submit").asyncio_detailed(
        client=me,
        body=models.TicketDraft(
            subject="Ο mail server δεν απαντά",
            description="Κανείς δεν λαμβάνει email.",
            priority=models.Priority.CRITICAL,
        ),
        idempotency_key="readme-walk-1",
    )
    assert submitted.status_code == 201, submitted.content
    ticket = submitted.parsed
    assert isinstance(ticket, models.Submitted)

    listed = await api(client_package, "list_tickets").asyncio(client=me)
    assert ticket.ticket_id in [t.ticket_id for t in listed.items]

    replied = await api(client_package, "add_message").asyncio_detailed(
        client=me, ticket_id=ticket.ticket_id, body=models.MessageDraft(body="Ισχύει ακόμη.")
    )
    assert replied.status_code == 201, replied.content
    assert isinstance(replied.parsed, models.MessageAdded)

    attached = await api(client_package, "upload").asyncio_detailed(
        client=me,
        ticket_id=ticket.ticket_id,
        body=models.UploadBody(
            file=[
                types.File(
                    payload=io.BytesIO(b"mail server log\n"),
                    file_name="server.log",
                    mime_type="text/plain",
                )
            ]
        ),
    )
    assert attached.status_code == 201, attached.content
    assert attached.parsed.items[0].file_name == "server.log"

    detail = await api(client_package, "get_ticket").asyncio(client=me, ticket_id=ticket.ticket_id)
    assert detail.number == ticket.number

    for recovery in ("request_username_reminder", "request_password_reset"):
        answer = await api(client_package, recovery).asyncio_detailed(
            client=anonymous, body=models.EmailRequest(email="maria.client@example.org")
        )
        assert answer.status_code == 202, answer.content

    refused = await api(client_package, "get_ticket").asyncio_detailed(
        client=anonymous.with_headers({}), ticket_id=ticket.ticket_id
    )
    assert refused.status_code == 401
    assert refused.parsed.code.value == "unauthenticated"
