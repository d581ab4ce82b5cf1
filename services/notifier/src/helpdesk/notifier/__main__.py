"""`python -m helpdesk.notifier`: consume events and send mail until SIGTERM."""

import asyncio

from helpdesk.notifier.app import build
from helpdesk.notifier.settings import Settings
from helpdesk.servicekit.runtime import run_service

if __name__ == "__main__":
    asyncio.run(
        run_service("notifier", Settings, build, migrations_package="helpdesk.notifier.migrations")
    )
