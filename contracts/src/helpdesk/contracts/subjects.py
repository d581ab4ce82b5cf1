"""NATS naming rules, in one place.

Commands and queries carry their own subject (`helpdesk.contracts.messages`),
events theirs (`EventData.subject_filter`); this module holds the rules both
follow: one JetStream stream per producing service, and the headers.
"""

PRODUCERS: tuple[str, ...] = ("identity", "tickets")

CORRELATION_HEADER = "X-Correlation-Id"
MSG_ID_HEADER = "Nats-Msg-Id"
# The caller's access token travels with every command that names an actor.
AUTHORIZATION_HEADER = "Authorization"


def stream_name(producer: str) -> str:
    """`IDENTITY`: the stream that keeps every event `producer` publishes."""
    return producer.upper()


def events_of(producer: str) -> str:
    """`identity.events.>`: every subject of `producer`'s stream."""
    return f"{producer}.events.>"


# stream name -> the subjects it captures
STREAMS: dict[str, str] = {stream_name(p): events_of(p) for p in PRODUCERS}


# Request–reply subjects: `<service>.<kind>.<verb>` (a contract's own
# `nats_subject()` uses the same rule; these build permission patterns).
def command(service: str, verb: str) -> str:
    return f"{service}.cmd.{verb}"


def query(service: str, verb: str) -> str:
    return f"{service}.query.{verb}"


def admin(service: str, verb: str) -> str:
    """Operator commands (dead letters, projection rebuilds) used by the CLI."""
    return f"{service}.admin.{verb}"


def keys(service: str, verb: str) -> str:
    """The keystore's requests (contracts/privacy.py): only services may publish them."""
    return f"{service}.keys.{verb}"


def mail(service: str, verb: str) -> str:
    """Requests from the mail gateway (a sender's address, no access token): only the
    mailgate identity may publish them (docs/mail.md)."""
    return f"{service}.mail.{verb}"
