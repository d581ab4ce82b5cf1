"""Who acts on a ticket, and the one answer to "is this caller an agent".

Decision: **the caller's roles come from the command's `actor`**, i.e. the
access token identity signed and the gateway verified (DESIGN.md §3a: the
actor is proven, not asserted). The users projection is never asked whether
the *caller* is an agent, because:

* it is the proof that travels with the command; the projection is fed
  asynchronously from identity's events and may lag behind (a user whose
  `UserRegistered` has not arrived yet would look like a customer, or
  unknown);
* the gateway already decides from the same token what the caller may see and
  do (portal menus, 403s), so both sides always agree;
* it costs no read.

The users projection answers only what no token can: the contact of the
caller (name, e-mail and locale for the events and mails) and, when an agent
assigns a ticket to *someone else*, whether that other person is an agent
(`Ticket.assign`'s `assignee_is_agent`). A role change therefore takes effect
for the caller with their next token.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from helpdesk.contracts.actors import Actor
from helpdesk.contracts.tickets import Contact


@dataclass(frozen=True)
class Caller:
    """Who acts on the ticket, as the aggregate needs to know them."""

    contact: Contact
    is_agent: bool

    @classmethod
    def of(cls, actor: Actor, contact: Contact) -> Caller:
        """The verified actor of a command, with the contact the users projection knows."""
        return cls(contact=contact, is_agent=actor.is_agent)

    @property
    def user_id(self) -> UUID:
        return self.contact.user_id
