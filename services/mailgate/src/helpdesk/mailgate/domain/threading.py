"""Which ticket a mail answers, safest evidence first (docs/mail.md):

1. a signed reply address `helpdesk+<token>@…` among its recipients;
2. a signed thread reference `<hd.<token>@…>` in `In-Reply-To` / `References`;
3. a ticket number `HD-YYYY-NNNNNN` in the subject — honoured by the tickets
   service only when the sender is the requester or an agent.

A `+` address shaped like a token that does not verify (forged, or signed with
a retired key) is neither guessed nor treated as new: the mail is kept and
dead-lettered for an operator to look at. Other `+` forms (`helpdesk+printers@…`)
are the support address itself.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from uuid import UUID

from helpdesk.contracts.mail import (
    looks_like_token,
    split_address,
    ticket_number_in,
    ticket_of_references,
    ticket_of_token,
)
from helpdesk.mailgate.domain.message import ParsedMail


@dataclass(frozen=True)
class NewTicket:
    pass


@dataclass(frozen=True)
class Answers:
    """The mail answers this ticket (`by`: `address` or `reference`: signed evidence)."""

    ticket_id: UUID
    by: str


@dataclass(frozen=True)
class MentionsNumber:
    number: str


@dataclass(frozen=True)
class ForgedAddress:
    address: str


Thread = NewTicket | Answers | MentionsNumber | ForgedAddress


def thread_of(
    mail: ParsedMail, recipients: Collection[str], *, key: bytes, support: Collection[str]
) -> Thread:
    bases = {split_address(a)[::2] for a in support}
    for address in [*recipients, *mail.to]:
        base, detail, domain = split_address(address)
        if (base, domain) not in bases or not detail:
            continue
        ticket_id = ticket_of_token(key, detail)
        if ticket_id is not None:
            return Answers(ticket_id, by="address")
        if looks_like_token(detail):
            return ForgedAddress(address.lower())
        # Any other `+` form (helpdesk+printers@…) is the support address itself.
    ticket_id = ticket_of_references(key, [*mail.in_reply_to, *mail.references])
    if ticket_id is not None:
        return Answers(ticket_id, by="reference")
    number = ticket_number_in(mail.subject)
    if number is not None:
        return MentionsNumber(number)
    return NewTicket()
