"""`python -m helpdesk.tickets`: run the tickets service."""

from __future__ import annotations

import asyncio

from helpdesk.servicekit.runtime import run_service
from helpdesk.tickets.app import build
from helpdesk.tickets.settings import Settings


def main() -> None:
    asyncio.run(
        run_service(
            "tickets",
            Settings,
            build,
            migrations_package="helpdesk.tickets.migrations",
            owns_stream="TICKETS",
        )
    )


if __name__ == "__main__":
    main()
