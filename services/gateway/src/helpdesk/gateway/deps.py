"""What the gateway's routes and portal pages depend on, reached in one way.

`bootstrap.py` builds one `Gateway` per app and connects it; every module asks
`gateway_of(request)` for it instead of reading `app.state` itself, so the
dependencies are named in one place and a test can hand in its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from nats.aio.client import Client as NatsClient
from nats.js.kv import KeyValue
from starlette.requests import Request

from helpdesk.gateway.settings import Settings
from helpdesk.gateway.stream import TicketFeed
from helpdesk.servicekit.blobs import BlobStore


@dataclass
class Gateway:
    settings: Settings
    # Set once NATS answers (bootstrap.connect); until then commands answer 503.
    nats: NatsClient | None = None
    # The attachments' object store on that connection.
    blobs: BlobStore | None = None
    # identity's revocation bucket, bound at its first use (revocations.py).
    revocations: KeyValue | None = None
    # The replica's one consumer of ticket events for the live pages (stream.py),
    # started by its first listener (live.py).
    feed: TicketFeed | None = None
    # The queues' names for people (the routing policy's labels), read now and then
    # from the tickets service (portal/rendering.py): (when read, queue -> lang -> name).
    queue_labels: tuple[float, dict[str, dict[str, str]]] = (0.0, {})
    # Who has which ticket open (presence.py), bound at its first use.
    presence: KeyValue | None = None


def gateway_of(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway
