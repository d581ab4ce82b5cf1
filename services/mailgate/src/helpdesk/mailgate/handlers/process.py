"""What a kept mail becomes, and the worker that gets every kept mail there.

Decision (docs/mail.md): a mail is processed straight from its stored row, not
announced as an event first. The row *is* the durable queue: the worker leases
waiting rows (`FOR UPDATE SKIP LOCKED`, so replicas share them), asks the
tickets service, and records the outcome. A crash anywhere leaves the row
waiting, its lease runs out and it is processed again; the tickets service
answers the second time with what the first did (idempotent by Message-ID).
A dependency outage delays a mail (back-off), it never drops it; after
`max_attempts` it is dead-lettered, still kept, and re-drivable.

The rules, in order:
1. unreadable -> dead letter;
2. machines' mail (bounce, auto-reply, our own address), or a sender over
   the hourly limit -> kept, nothing created;
3. answers a ticket (signed reply address or thread reference) -> a message
   by the requester or an agent; anyone else is told why not;
4. names a ticket number in the subject -> a message if the sender is the
   requester or an agent, else a new ticket;
5. otherwise -> a new ticket; an unknown sender is told how to register.

Then the mail's files (attachments, inline images, winmail.dat as it is) go
through the kit's pipeline, as portal uploads do, and onto the ticket or the
message (`tickets.mail.attach`); the ones refused are named on the ticket and
the sender is told why (by the notifier). Files are handled after the ticket
or message exists, so nothing is stored for a mail that creates nothing; a
retry finds the ticket again (idempotent by Message-ID) and the files under
the same ids (derived from the mail and the part's index).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import replace
from datetime import timedelta
from typing import TypeVar
from uuid import uuid4

from helpdesk.contracts.attachments import (
    FILES_PER_MAIL_MAX,
    REFUSED_PER_MAIL_MAX,
    AttachFromMail,
    RefusedFile,
    StoredFile,
)
from helpdesk.contracts.replies import Refused
from helpdesk.contracts.tickets import ReplyFromMail, SubmitFromMail
from helpdesk.mailgate.domain.message import ParsedMail, UnreadableMail, parse
from helpdesk.mailgate.domain.screening import Skip, screen
from helpdesk.mailgate.domain.threading import (
    Answers,
    ForgedAddress,
    MentionsNumber,
    thread_of,
)
from helpdesk.mailgate.handlers.deps import Deps, Explanation, Outcome, StoredMail
from helpdesk.servicekit.attachments import FileRefused
from helpdesk.servicekit.logging import bind_correlation_id, get_logger
from helpdesk.servicekit.loops import kind_of, repeat
from helpdesk.servicekit.waits import woken

log = get_logger(__name__)

T = TypeVar("T")

NO_SUBJECT = "(χωρίς θέμα / no subject)"
NO_TEXT = "(χωρίς κείμενο / no text)"
# Refusals that no retry will change; anything else is transient.
_EXPLAINED = {"unknown_sender", "not_participant", "ticket_closed"}
_PERMANENT = {"not_found", "validation_error", "forbidden", *_EXPLAINED}


class Retry(Exception):
    """A dependency is away: try this mail again later."""


def _explain(mail: ParsedMail, reason: str) -> Explanation:
    assert mail.sender is not None
    return Explanation(
        to=mail.sender, reason=reason, subject=mail.subject, in_reply_to=mail.message_id
    )


def _refused(mail: ParsedMail, code: str, what: str) -> Outcome:
    """A permanent refusal of `what` the mail asked for: explained to the sender when
    it is theirs to mend (`_EXPLAINED`), dead otherwise."""
    if code in _EXPLAINED:
        return Outcome("ignored", code, explanation=_explain(mail, code))
    return Outcome("dead", f"tickets refused {what}: {code}")


async def _ask(call: Awaitable[T]) -> T:
    """Await a tickets request; a refusal other than a permanent one means retry."""
    try:
        return await call
    except Refused as refused:
        if refused.error.code in _PERMANENT:
            raise
        raise Retry(f"tickets: {refused.error.code}") from None
    except (TimeoutError, OSError, ConnectionError) as exc:
        raise Retry(f"tickets: {type(exc).__name__}") from None


async def _submit(mail: ParsedMail, deps: Deps) -> Outcome:
    assert mail.sender is not None
    command = SubmitFromMail(
        sender=mail.sender,
        mail_id=mail.key,
        subject=mail.subject or NO_SUBJECT,
        # A new ticket keeps the whole text: a forwarded mail's history is its content.
        description=mail.full_text or NO_TEXT,
    )
    try:
        submitted = await _ask(deps.tickets.submit(command))
    except Refused as refused:
        return _refused(mail, refused.error.code, "the new ticket")
    return Outcome(
        "done",
        f"created {submitted.number}",
        ticket_id=submitted.ticket_id,
        user_id=submitted.requester_id,  # a mailed ticket's requester is its sender
        requester_id=submitted.requester_id,
    )


async def _reply(mail: ParsedMail, deps: Deps, command: ReplyFromMail) -> Outcome | None:
    """A message on the ticket; None when a subject number did not hold (-> new ticket)."""
    try:
        added = await _ask(deps.tickets.reply(command))
    except Refused as refused:
        code = refused.error.code
        if command.ticket_id is None and code in ("not_participant", "not_found"):
            return None  # only a number in the subject: not evidence enough
        return _refused(mail, code, "the reply")
    return Outcome(
        "done",
        f"added ({added.status.value})",
        ticket_id=added.ticket_id,
        message_id=added.message_id,
        user_id=added.author_id,
        requester_id=added.requester_id,
    )


async def _files(mail: ParsedMail, deps: Deps) -> tuple[list[StoredFile], list[RefusedFile]]:
    """Each file through the kit's pipeline into the blob store, or refused with why."""
    stored: list[StoredFile] = []
    refused: list[RefusedFile] = []
    for number, part in enumerate(mail.files):
        if number >= FILES_PER_MAIL_MAX:
            refused.append(
                RefusedFile(
                    name=part.name,
                    code="too_many_files",
                    detail=f"a mail may bring at most {FILES_PER_MAIL_MAX} files",
                    size=len(part.data),
                )
            )
            continue
        try:
            stored.append(
                await deps.files.store(part.name, part.data, part.attachment_id(mail.key))
            )
        except FileRefused as no:
            log.info("mail file refused", code=no.code, content_type=part.content_type)
            refused.append(
                RefusedFile(name=part.name, code=no.code, detail=no.detail, size=len(part.data))
            )
        except Exception as exc:  # the object store or the scanner away: the mail waits
            raise Retry(f"files: {type(exc).__name__}") from None
    return stored, refused[:REFUSED_PER_MAIL_MAX]


async def _attach(mail: ParsedMail, deps: Deps, outcome: Outcome) -> Outcome:
    """The mail's files onto the ticket (or the message) the mail became."""
    if not mail.files or outcome.status != "done" or outcome.ticket_id is None:
        return outcome
    assert mail.sender is not None
    stored, refused = await _files(mail, deps)
    command = AttachFromMail(
        sender=mail.sender,
        mail_id=mail.key,
        ticket_id=outcome.ticket_id,
        message_id=outcome.message_id,
        files=stored,
        refused=refused,
    )
    try:
        attached = await _ask(deps.tickets.attach(command))
    except Refused as no:
        # The sender lost their account or role between the two requests: the mail's
        # text is on the ticket, its files are not; said here and in the log.
        log.warning("mail files not attached", code=no.error.code)
        detail = f"{outcome.detail}; files not attached: {no.error.code}"
        return replace(outcome, detail=detail)
    files = f"{len(attached.added)} file(s) attached, {len(attached.refused)} refused"
    return replace(outcome, detail=f"{outcome.detail}; {files}")


async def decide(stored: StoredMail, deps: Deps) -> Outcome:
    """What this mail becomes (raises `Retry` while a dependency is away)."""
    try:
        mail = parse(stored.raw)
    except UnreadableMail as exc:
        return Outcome("dead", f"unreadable mail: {exc}")
    return replace(await _decide(mail, stored, deps), sender=mail.sender)


async def _decide(mail: ParsedMail, stored: StoredMail, deps: Deps) -> Outcome:
    policy = deps.policy
    skip = screen(mail, envelope_sender=stored.envelope_from, own=policy.own)
    if skip is None and mail.sender is not None:
        since = deps.clock.now() - timedelta(hours=1)
        if await deps.store.mails_from(mail.sender, since) >= policy.hourly_limit:
            skip = Skip.RATE_LIMITED
    if skip is not None:
        return Outcome("ignored", skip.value)
    assert mail.sender is not None
    thread = thread_of(mail, stored.recipients, key=policy.reply_key, support=policy.support)
    if isinstance(thread, ForgedAddress):
        return Outcome("dead", f"reply address not signed by this helpdesk: {thread.address}")
    body = mail.text or NO_TEXT
    if isinstance(thread, Answers):
        command = ReplyFromMail(
            sender=mail.sender, mail_id=mail.key, ticket_id=thread.ticket_id, body=body
        )
        outcome = await _reply(mail, deps, command)
        assert outcome is not None
        return await _attach(mail, deps, outcome)
    if isinstance(thread, MentionsNumber):
        command = ReplyFromMail(
            sender=mail.sender, mail_id=mail.key, number=thread.number, body=body
        )
        outcome = await _reply(mail, deps, command)
        if outcome is not None:
            return await _attach(mail, deps, outcome)
    return await _attach(mail, deps, await _submit(mail, deps))


async def process(stored: StoredMail, deps: Deps) -> Outcome | None:
    """Decide and record; None when the mail waits for another attempt."""
    bind_correlation_id(f"mail-{stored.mail_id}")
    try:
        try:
            outcome = await decide(stored, deps)
        except Retry as retry:
            if stored.attempts >= deps.policy.max_attempts:
                outcome = Outcome("dead", f"gave up after {stored.attempts} attempts: {retry}")
            else:
                backoff = deps.policy.backoff
                delay = backoff[min(stored.attempts, len(backoff)) - 1]
                log.warning("mail waits for the tickets service", error=str(retry), retry_in=delay)
                await deps.store.retry_later(stored, str(retry), delay)
                return None
        except Exception as exc:  # a bug must not stop the other mails
            log.error("mail processing failed", error=type(exc).__name__, exc_info=exc)
            outcome = Outcome("dead", f"processing failed: {type(exc).__name__}")
        await deps.store.finish(stored, outcome)
        log.info("mail processed", status=outcome.status, detail=outcome.detail)
        return outcome
    finally:
        bind_correlation_id(None)


class MailWorker:
    """Processes kept mails: woken at once by the listener, and every `interval`
    seconds for what other replicas kept or a lease that ran out."""

    def __init__(self, deps: Deps, *, interval: float = 1.0, batch_size: int = 16) -> None:
        self.deps = deps
        self.interval = interval
        self.batch_size = batch_size
        self.wake = asyncio.Event()
        self.id = uuid4()

    async def run(self) -> None:
        await repeat(
            self._drain, pause=self._woken, failed="mail worker pass failed", error_of=kind_of
        )

    async def _drain(self) -> None:
        while await self.run_once():
            pass

    async def _woken(self) -> None:
        self.wake.clear()
        await woken(self.wake, self.interval)

    async def run_once(self) -> int:
        """Process one batch of waiting mails; returns how many were claimed."""
        batch = await self.deps.store.claim(self.batch_size)
        await asyncio.gather(*(process(mail, self.deps) for mail in batch))
        return len(batch)
