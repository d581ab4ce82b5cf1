"""Files on the portal's ticket forms ("new ticket", replies), and the pages'
attachment list, downloads, thumbnails and removal.

The forms are `multipart/form-data` with a `file` input (`multiple`); the
files are checked and cleaned before the ticket or reply is sent (a refused
file keeps the form, with the reason on top), and stored and recorded after
it, on the new ticket or with the reply's message id.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import Response

from helpdesk.contracts.attachments import (
    FILES_PER_REQUEST_MAX,
    Attachment,
    AttachmentList,
    ListAttachments,
    RemoveAttachment,
)
from helpdesk.gateway import downloads, uploads
from helpdesk.gateway.commands import send
from helpdesk.gateway.deps import gateway_of
from helpdesk.gateway.portal.forms import Form, problem_message, read_form
from helpdesk.gateway.portal.i18n import Lang, t
from helpdesk.gateway.portal.rendering import page_url, redirect
from helpdesk.gateway.portal.routing import PageLang
from helpdesk.gateway.portal.session import PortalUser, signed_in_user
from helpdesk.gateway.problems import ProblemError
from helpdesk.servicekit.attachments import Prepared

router = APIRouter()


def limits(request: Request, lang: Lang) -> str:
    """The hint under a file input: the per-file limit in MB and the file count."""
    size = gateway_of(request).settings.attachment_max_bytes / (1024 * 1024)
    return t("attach_hint", lang).format(size=f"{size:g}", count=FILES_PER_REQUEST_MAX)


async def prepared_files(request: Request, form: Form, lang: Lang) -> tuple[list[Prepared], int]:
    """The form's files checked and cleaned; on a refusal the form gets the reason
    (under `file`) and the status to answer with, and no file is kept."""
    received = uploads.uploaded_files(await request.form())
    if not received:
        return [], 0
    try:
        return await uploads.prepare_all(request, received), 0
    except ProblemError as problem:
        if problem.status == 503:
            raise
        form.errors["file"] = problem_message(problem, lang)
        return [], problem.status


async def attach(
    request: Request,
    user: PortalUser,
    ticket_id: UUID,
    prepared: list[Prepared],
) -> None:
    """A new ticket's files, recorded once it exists (a reply's go with it: AddMessage)."""
    if prepared:
        await uploads.attach(request, user.actor, ticket_id, prepared)


async def listing(request: Request, user: PortalUser, ticket_id: UUID) -> AttachmentList:
    return await send(request, ListAttachments(actor=user.actor, ticket_id=ticket_id))


def format_size(size: int) -> str:
    for unit in ("B", "KB", "MB"):
        if size < 1024 or unit == "MB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return f"{size} B"


def page_context(request: Request, lang: Lang, files: AttachmentList) -> dict[str, Any]:
    return {"attachments": files.items, "attach_hint": limits(request, lang), "size": format_size}


async def _signed_in_get(request: Request, ticket_id: UUID, attachment_id: UUID) -> Attachment:
    user = await signed_in_user(request)
    return await downloads.attachment_for(request, user.actor, ticket_id, attachment_id)


# ------------------------------------------------------------------ pages


@router.get("/{lang}/tickets/{ticket_id}/attachments/{attachment_id}")
async def download(
    request: Request, lang: PageLang, ticket_id: UUID, attachment_id: UUID
) -> Response:
    return await downloads.serve(request, await _signed_in_get(request, ticket_id, attachment_id))


@router.get("/{lang}/tickets/{ticket_id}/attachments/{attachment_id}/thumbnail")
async def thumbnail(
    request: Request, lang: PageLang, ticket_id: UUID, attachment_id: UUID
) -> Response:
    attachment = await _signed_in_get(request, ticket_id, attachment_id)
    return await downloads.serve_thumbnail(request, attachment)


@router.post("/{lang}/tickets/{ticket_id}/attachments/{attachment_id}/remove")
async def remove(
    request: Request, lang: PageLang, ticket_id: UUID, attachment_id: UUID
) -> Response:
    user = await signed_in_user(request)
    form = await read_form(request)
    reason = form.get("reason").strip() or t("remove_attachment", lang)
    await send(
        request,
        RemoveAttachment(
            actor=user.actor,
            ticket_id=ticket_id,
            attachment_id=attachment_id,
            reason=reason[:500],
        ),
    )
    url = page_url(lang, f"tickets/{ticket_id}?notice=attachment_removed")
    return await redirect(request, url, lang)
