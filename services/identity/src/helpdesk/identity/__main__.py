"""`python -m helpdesk.identity`: the identity service."""

from __future__ import annotations

import uvloop

from helpdesk.identity.service import build
from helpdesk.identity.settings import Settings
from helpdesk.servicekit.runtime import run_service


def main() -> None:
    # uvloop: a faster event loop for the same asyncio code.
    uvloop.run(
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
