"""NATS subject and JetStream stream names, in one place."""

STREAMS: dict[str, str] = {
    # stream name -> subjects it captures
    "IDENTITY": "identity.events.>",
    "TICKETS": "tickets.events.>",
}

CORRELATION_HEADER = "X-Correlation-Id"
MSG_ID_HEADER = "Nats-Msg-Id"


def command(service: str, name: str) -> str:
    """`identity.cmd.register`: a command served in the `service` queue group."""
    return f"{service}.cmd.{name}"


def query(service: str, name: str) -> str:
    return f"{service}.query.{name}"


def admin(service: str, name: str) -> str:
    """Operator commands (dead letters, projection rebuilds) used by the CLI."""
    return f"{service}.admin.{name}"
