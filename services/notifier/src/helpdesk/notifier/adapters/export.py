"""The export's read of the mail queue (table `deliveries`; docs/privacy.md, "Export"):
the mails recorded for a person's addresses, oldest first, a page at a time.

A row keeps its composed message only until it is sent or given up; while it is
there, its subject and text part are exported too.
"""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

import asyncpg

from helpdesk.contracts.export import ExportedMail

_PAGE = """
SELECT id, template, recipient, status, created_at, sent_at, attachments, message, last_error
FROM deliveries
WHERE recipient = any($1::text[]) AND id > $2
ORDER BY id
LIMIT $3
"""


def _subject_and_text(raw: bytes | None) -> tuple[str | None, str | None]:
    if raw is None:
        return None, None
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    part = message.get_body(preferencelist=("plain",))
    text = part.get_content() if isinstance(part, EmailMessage) else None
    subject = message.get("Subject")
    return (str(subject) if subject is not None else None), text


class PostgresMailRecords:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def page(
        self, addresses: list[str], after: int, limit: int
    ) -> tuple[list[ExportedMail], int | None]:
        """Mails to `addresses` (any case) recorded after row `after`, and the last row
        of the page when another may follow."""
        keys = sorted({address.lower() for address in addresses})
        rows = await self._pool.fetch(_PAGE, keys, after, limit)
        mails = []
        for row in rows:
            subject, text = _subject_and_text(row["message"])
            mails.append(
                ExportedMail(
                    template=row["template"],
                    recipient=row["recipient"],
                    status=row["status"],
                    queued_at=row["created_at"],
                    sent_at=row["sent_at"],
                    attachments=[f["file_name"] for f in row["attachments"] or ()],
                    subject=subject,
                    body=text,
                    error=row["last_error"],
                )
            )
        more = len(rows) == limit
        return mails, (rows[-1]["id"] if more else None)
