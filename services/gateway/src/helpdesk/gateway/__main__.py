"""`python -m helpdesk.gateway`: serve the API and portal on HELPDESK_HTTP_PORT."""

from __future__ import annotations

import uvicorn

from helpdesk.gateway.app import create_app
from helpdesk.gateway.settings import Settings
from helpdesk.servicekit.logging import configure_logging
from helpdesk.servicekit.settings import load_settings


def main() -> None:
    settings = load_settings(Settings)
    configure_logging("gateway", settings.log_format)
    uvicorn.run(
        create_app(settings),
        host="0.0.0.0",
        port=settings.http_port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
    )


if __name__ == "__main__":
    main()
