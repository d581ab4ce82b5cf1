"""The headers that let a ticket mail be answered by mail (docs/mail.md).

`Reply-To` is the ticket's signed reply address (`helpdesk+<token>@…`), and
`In-Reply-To` / `References` name the ticket's thread root, so the answer
reaches the mailgate and is threaded to the ticket even if the client drops
one of them. Without `HELPDESK_MAIL_REPLY_KEY` the mail channel is off and
ticket mails carry none of these.
"""

from __future__ import annotations

import functools
from email.utils import parseaddr
from uuid import UUID

from helpdesk.contracts.mail import reply_address, thread_reference
from helpdesk.notifier.settings import Settings


@functools.lru_cache(maxsize=16)
def _support_address(support_addresses: tuple[str, ...], mail_from: str) -> str:
    """The first support address (or the sender's), parsed once per setting."""
    return parseaddr(support_addresses[0] if support_addresses else mail_from)[1]


def thread_headers(settings: Settings, ticket_id: UUID) -> dict[str, str]:
    if settings.mail_reply_key is None or not settings.mail_reply_key.get_secret_value():
        return {}
    key = settings.mail_reply_key.get_secret_value().encode()
    support = _support_address(settings.support_addresses, settings.mail_from)
    root = thread_reference(support, key, ticket_id)
    return {
        "Reply-To": reply_address(support, key, ticket_id),
        "In-Reply-To": root,
        "References": root,
    }
