"""Commands and queries: request–reply messages that know their subject and result.

A contract declares what it asks and what it gets back in one line::

    class SubmitTicket(TicketsCommand[Submitted]):
        verb: ClassVar[str] = "submit"

`SubmitTicket.nats_subject()` is `tickets.cmd.submit`, `SubmitTicket.result_type()`
is `Submitted`: the service kit serves it from that, the gateway and the CLI send
it from that, and nobody writes the subject by hand.
"""

from __future__ import annotations

from typing import Any, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

from helpdesk.contracts import subjects

ResultT = TypeVar("ResultT", bound=BaseModel)

Kind = Literal["cmd", "query", "admin", "mail", "keys"]


class Request(BaseModel, Generic[ResultT]):
    """Base of every command and query (never sent itself)."""

    # Unknown fields are an error: a typo in a client should not pass silently.
    model_config = ConfigDict(extra="forbid", frozen=True)

    service: ClassVar[str | None] = None  # None: every service answers it (admin)
    kind: ClassVar[Kind]
    verb: ClassVar[str]
    _result: ClassVar[type[BaseModel] | None] = None

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        # `Submit(Command[Submitted])`: pydantic records `Submitted` on the
        # parametrised base; remember it so the reply can be typed from the class.
        for base in cls.__mro__:
            args = getattr(base, "__pydantic_generic_metadata__", {}).get("args", ())
            if args and isinstance(args[0], type) and issubclass(args[0], BaseModel):
                cls._result = args[0]
                break

    @classmethod
    def result_type(cls) -> type[BaseModel]:
        if cls._result is None:
            raise TypeError(f"{cls.__name__} does not name its result type")
        return cls._result

    @classmethod
    def nats_subject(cls, service: str | None = None) -> str:
        """`<service>.<kind>.<verb>`; admin requests name the service they go to."""
        owner = cls.service or service
        if owner is None:
            raise TypeError(f"{cls.__name__} is served by every service: say which one")
        return _SUBJECT_OF[cls.kind](owner, cls.verb)


class Command(Request[ResultT], Generic[ResultT]):
    kind: ClassVar[Kind] = "cmd"


class Query(Request[ResultT], Generic[ResultT]):
    kind: ClassVar[Kind] = "query"


class AdminRequest(Request[ResultT], Generic[ResultT]):
    """Operator commands every service answers on `<service>.admin.<verb>`."""

    kind: ClassVar[Kind] = "admin"


class MailCommand(Request[ResultT], Generic[ResultT]):
    """What the mail gateway asks on `<service>.mail.<verb>`: a request carrying a
    sender's address instead of an access token. Only the mailgate's NATS identity
    may publish these subjects (nats_auth.py), which is the proof they came from it."""

    kind: ClassVar[Kind] = "mail"


_SUBJECT_OF = {
    "cmd": subjects.command,
    "query": subjects.query,
    "admin": subjects.admin,
    "mail": subjects.mail,
    "keys": subjects.keys,
}


def is_request_type(value: object) -> bool:
    """A concrete command/query class (one with a verb), e.g. for discovery."""
    return isinstance(value, type) and issubclass(value, Request) and "verb" in vars(value)
