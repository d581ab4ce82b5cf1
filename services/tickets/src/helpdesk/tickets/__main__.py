"""`python -m helpdesk.tickets`: run the tickets service."""

from __future__ import annotations

import uvloop

from helpdesk.servicekit.runtime import run_service
from helpdesk.tickets.app import build
from helpdesk.tickets.settings import Settings


def main() -> None:
    # uvloop: a faster event loop for the same asyncio code.
    uvloop.run(
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
