"""A real OpenID Connect provider for the tests: npm `oidc-provider` on the
installed Node (tests/sso/oidc_provider.mjs), on a free loopback port.

The package is installed once into var/test-cache (npm from its registry, under
a file lock: concurrent test workers install it once); a machine without Node
skips the OpenID Connect tests with the reason."""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from helpdesk.devstack.servers import stop_process, wait_for_port

PACKAGE = "oidc-provider@8.8.1"  # quiet on Node 20 (9.x prefers Node 22)
CACHE = Path(__file__).resolve().parents[2] / "var" / "test-cache" / "oidc-provider-8.8.1"
SCRIPT = Path(__file__).with_name("oidc_provider.mjs")
CLIENT_ID = "helpdesk"
CLIENT_SECRET = "helpdesk-test-client-secret-0123456789abcdef"


def node_available() -> bool:
    return shutil.which("node") is not None and shutil.which("npm") is not None


def install() -> Path:
    """The cache folder with oidc-provider in its node_modules (npm install once)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (CACHE / "node_modules" / "oidc-provider" / "package.json").exists():
            subprocess.run(
                [
                    *("npm", "install", "--no-audit", "--no-fund", "--silent"),
                    *("--prefix", str(CACHE), PACKAGE),
                ],
                check=True,
                capture_output=True,
                timeout=600,
            )
        # Node resolves the package from the script's own folder upwards.
        shutil.copyfile(SCRIPT, CACHE / SCRIPT.name)
    return CACHE


@dataclass
class OidcServer:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(cls, port: int, redirect_uri: str, accounts: dict[str, dict[str, Any]]) -> OidcServer:
        folder = install()
        process = subprocess.Popen(
            ["node", str(folder / SCRIPT.name), str(port), CLIENT_ID, CLIENT_SECRET, redirect_uri],
            env={**os.environ, "OIDC_ACCOUNTS": json.dumps(accounts)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(port, timeout=30)
        return cls(port, process)

    def stop(self) -> None:
        stop_process(self.process)


async def consent(authorization_url: str, login: str) -> str:
    """What a person does at the provider (its dev interactions): sign in as `login`,
    agree; the redirect back to the helpdesk (its URL, with code, state and iss)."""
    async with httpx.AsyncClient(timeout=15) as idp:
        url = authorization_url
        for _ in range(12):
            response = await idp.get(url)
            if response.is_redirect:
                url = urljoin(url, response.headers["location"])
                if "/oidc/callback" in url:
                    return url
                continue
            form = re.search(r'<form[^>]*action="([^"]+)"', response.text)
            assert form, response.text[:500]
            action = urljoin(url, form.group(1))
            fields = {"prompt": "login", "login": login, "password": "any"}
            if 'name="login"' not in response.text:
                fields = {"prompt": "consent"}
            posted = await idp.post(action, data=fields)
            assert posted.is_redirect, posted.text[:500]
            url = urljoin(action, posted.headers["location"])
            if "/oidc/callback" in url:
                return url
    raise AssertionError("the provider never redirected back")


def landed(response: httpx.Response) -> bool:
    """Whether the helpdesk's answer to the organisation's redirect or post is a
    session: to the tickets page."""
    return response.status_code == 303 and response.headers["location"].endswith("/tickets")


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
