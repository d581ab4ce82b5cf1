"""A too-large body gets its 413 over a real connection, also from clients that
send the whole body before reading the answer (Python's urllib, browsers
posting a form): the gateway reads and discards the rest instead of closing
the connection under them (which they saw as a broken pipe, about half the time)."""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from helpdesk.devstack.servers import free_port
from helpdesk.gateway.limits import MAX_BODY_BYTES, BodyLimitMiddleware


async def echo_size(scope: Scope, receive: Receive, send: Send) -> None:
    body = await Request(scope, receive).body()
    await JSONResponse({"bytes": len(body)})(scope, receive, send)


@pytest.fixture(scope="module")
def gateway_url() -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(BodyLimitMiddleware(echo_size), host="127.0.0.1", port=port, log_config=None)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def post(url: str, body: bytes) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(  # noqa: S310 - our own loopback server
        url + "/api/v1/tickets",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def test_a_2_mb_json_body_gets_the_413_problem_every_time(gateway_url: str) -> None:
    body = json.dumps({"description": "x" * (2 * 1024 * 1024)}).encode()
    answers = [post(gateway_url, body) for _ in range(20)]
    assert [status for status, _ in answers] == [413] * 20
    assert {problem["code"] for _, problem in answers} == {"payload_too_large"}


def test_a_body_within_the_limit_is_read_whole(gateway_url: str) -> None:
    body = json.dumps({"description": "x" * 1000}).encode()
    assert post(gateway_url, body) == (200, {"bytes": len(body)})


def test_a_chunked_body_past_the_limit_gets_the_413_on_a_reusable_connection(
    gateway_url: str,
) -> None:
    """No Content-Length: the limit is found while streaming; the rest is drained,
    and the same connection then serves the next request."""
    connection = http.client.HTTPConnection(gateway_url.removeprefix("http://"), timeout=10)
    chunk = b"y" * 65536
    chunks = [chunk] * (MAX_BODY_BYTES // len(chunk) + 8)
    connection.request("POST", "/api/v1/tickets", body=iter(chunks), encode_chunked=True)
    answer = connection.getresponse()
    assert answer.status == 413
    assert json.loads(answer.read())["code"] == "payload_too_large"
    connection.request("POST", "/api/v1/tickets", body=b"{}")
    again = connection.getresponse()
    assert (again.status, json.loads(again.read())) == (200, {"bytes": 2})
    connection.close()
