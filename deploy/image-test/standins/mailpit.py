#!/opt/mail/bin/python
"""A mail catcher standing in for mailpit: SMTP on 1025 (aiosmtpd), and on 8025 the
part of mailpit's HTTP API that `make image-test` reads (GET /api/v1/messages,
GET /api/v1/message/ID, GET /readyz). `/mailpit readyz` is the healthcheck, as with
the real binary. Messages are kept in memory."""

import email
import email.policy
import email.utils
import json
import signal
import sys
import threading
import time
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

if sys.argv[1:2] == ["readyz"]:
    try:
        with urllib.request.urlopen("http://127.0.0.1:8025/readyz", timeout=3):
            sys.exit(0)
    except Exception as exc:
        print(f"mailpit stand-in not ready: {exc}", file=sys.stderr)
        sys.exit(1)

from aiosmtpd.controller import Controller

MESSAGES: list[dict[str, Any]] = []
LOCK = threading.Lock()


def _addresses(values: list[str]) -> list[dict[str, str]]:
    return [{"Name": name, "Address": addr} for name, addr in email.utils.getaddresses(values)]


class Handler:
    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        text = msg.get_body(("plain",))
        html = msg.get_body(("html",))
        entry = {
            "ID": uuid.uuid4().hex,
            "MessageID": msg.get("Message-ID", ""),
            "From": (_addresses([msg.get("From", "")]) or [{}])[0],
            "To": [{"Name": "", "Address": rcpt} for rcpt in envelope.rcpt_tos],
            "Subject": str(msg.get("Subject", "")),
            "Created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "Text": text.get_content() if text is not None else "",
            "HTML": html.get_content() if html is not None else "",
        }
        with LOCK:
            MESSAGES.append(entry)
        print(f"caught: {entry['To'][0]['Address']} {entry['Subject']!r}", flush=True)
        return "250 Message accepted for delivery"


class Http(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        with LOCK:
            summaries = [
                {k: v for k, v in m.items() if k not in ("Text", "HTML")} for m in MESSAGES
            ]
            by_id = {m["ID"]: m for m in MESSAGES}
        if path == "/readyz":
            return self._send(200, "ok")
        if path == "/api/v1/messages":
            return self._send(200, {"total": len(summaries), "messages": summaries[::-1]})
        if path.startswith("/api/v1/message/") and path.rsplit("/", 1)[1] in by_id:
            return self._send(200, by_id[path.rsplit("/", 1)[1]])
        return self._send(404, {"error": "not found"})

    def _send(self, status: int, body: object) -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header(
            "Content-Type", "text/plain" if isinstance(body, str) else "application/json"
        )
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


# PID 1 in the container: stop at once on SIGTERM (compose down) rather than being killed.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
controller = Controller(Handler(), hostname="0.0.0.0", port=1025)
controller.start()
print("mailpit stand-in: SMTP on 1025, HTTP on 8025", flush=True)
ThreadingHTTPServer(("0.0.0.0", 8025), Http).serve_forever()
