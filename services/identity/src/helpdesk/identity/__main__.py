"""`python -m helpdesk.identity`: the identity service."""

from __future__ import annotations

import asyncio

from helpdesk.identity.service import build
from helpdesk.identity.settings import Settings
from helpdesk.servicekit.runtime import run_service


def main() -> None:
    asyncio.run(
        run_service(
            "identity",
            Settings,
            build,
            migrations_package="helpdesk.identity.migrations",
            owns_stream="IDENTITY",
        )
    )


if __name__ == "__main__":
    main()
