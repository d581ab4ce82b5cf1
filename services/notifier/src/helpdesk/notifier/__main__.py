"""`python -m helpdesk.notifier`: consume events and send mail until SIGTERM."""

import uvloop

from helpdesk.notifier.app import build
from helpdesk.notifier.settings import Settings
from helpdesk.servicekit.runtime import run_service

if __name__ == "__main__":
    # uvloop: a faster event loop for the same asyncio code.
    uvloop.run(
        run_service("notifier", Settings, build, migrations_package="helpdesk.notifier.migrations")
    )
