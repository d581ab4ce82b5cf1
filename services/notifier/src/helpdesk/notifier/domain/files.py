"""Which of a mail's files travel attached and which as links: attached in
order up to the budget (HELPDESK_MAIL_ATTACHMENT_MAX_BYTES in all), the rest
linked to the portal's download (which asks the reader to log in). Active
content (HTML, SVG) travels as application/octet-stream. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from helpdesk.contracts.attachments import Handling, StoredFile


@dataclass(frozen=True)
class MailFile:
    """A file a mail carries, fetched from the object store when it is sent."""

    sha256: str
    file_name: str
    content_type: str


def split_by_budget(
    stored: Sequence[StoredFile], budget: int, link_of: Callable[[StoredFile], str]
) -> tuple[list[MailFile], list[tuple[str, str]]]:
    """(files to attach, (name, link) of the others)."""
    attached: list[MailFile] = []
    linked: list[tuple[str, str]] = []
    for f in stored:
        if f.size <= budget:
            budget -= f.size
            content_type = (
                "application/octet-stream"
                if f.handling is Handling.DOWNLOAD_ONLY
                else f.content_type
            )
            attached.append(MailFile(f.sha256, f.file_name, content_type))
        else:
            linked.append((f.original_name, link_of(f)))
    return attached, linked
