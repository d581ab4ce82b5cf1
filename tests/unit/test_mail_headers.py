"""Every subject the helpdesk mails, in Greek and English, decodes in a compliant
parser (`email.policy.default`) to exactly the text the template rendered: no
space lost where a long encoded subject is split into encoded words (issue 26:
"λογαριασμόγια"), no empty first line. The notifier's templates, a files mail
after its attachments are put in, and the mailgate's explanations."""

from __future__ import annotations

import email
import email.policy
from datetime import date
from importlib.resources import files
from typing import Any
from uuid import uuid4

import jinja2
import jinja2.meta
import pytest

from helpdesk.mailgate.adapters.explanations import Explainer
from helpdesk.mailgate.settings import Settings as MailgateSettings
from helpdesk.notifier.adapters.compose import MailComposer
from helpdesk.notifier.domain.files import MailFile
from helpdesk.notifier.settings import Settings
from tests.tokens import seal_private_key
from tests.unit.notifier.test_file_mails import MemoryBlobs

# Long enough that every subject is split into several encoded words.
SAMPLE = "Ο εκτυπωτής του 3ου ορόφου δεν τυπώνει έγχρωμα από χθες το απόγευμα"
TEMPLATES = files("helpdesk.notifier") / "templates"


def subjects() -> list[tuple[str, str]]:
    found = []
    for locale in ("el", "en"):
        for path in sorted((TEMPLATES / locale).iterdir(), key=lambda p: p.name):
            if path.name.endswith(".subject.txt"):
                found.append((locale, path.name.removesuffix(".subject.txt")))
    assert len(found) >= 20
    return found


def rendered_subject(locale: str, template: str) -> str:
    source = (TEMPLATES / locale / f"{template}.subject.txt").read_text(encoding="utf-8")
    environment = jinja2.Environment(autoescape=False)  # noqa: S701 - a plain-text header
    names = jinja2.meta.find_undeclared_variables(environment.parse(source))
    context: dict[str, Any] = {name: SAMPLE for name in names}
    context |= {"number": "HD-2026-000123", "count": 3}
    return " ".join(environment.from_string(source).render(context).split())


def decoded_subject(data: bytes) -> str:
    message = email.message_from_bytes(data, policy=email.policy.default)
    return str(message["Subject"])


def composer() -> MailComposer:
    return MailComposer(
        Settings(notifier_seal_private_key=seal_private_key(), mail_from="Υποστήριξη <h@x.org>")
    )


@pytest.mark.parametrize(("locale", "template"), subjects())
def test_every_subject_decodes_to_the_rendered_text(
    locale: str, template: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    subject = rendered_subject(locale, template)
    mails = composer()
    monkeypatch.setattr(mails, "render", lambda *_: (subject, "text", "<p>html</p>"))
    mail = mails.compose(
        event_id=uuid4(),
        to="m@example.org",
        to_name="Μαρία Παπαδοπούλου",
        template=template,
        locale=locale,
        context={},
    )
    assert decoded_subject(mail.data) == subject
    assert b"Subject: \n" not in mail.data
    read = email.message_from_bytes(mail.data, policy=email.policy.default)
    assert str(read["From"]) == "Υποστήριξη <h@x.org>"
    assert str(read["To"]) == "Μαρία Παπαδοπούλου <m@example.org>"


async def test_a_files_mail_keeps_its_headers_when_the_files_are_put_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The files mail is rebuilt around its attachments at send time: its subject
    and thread headers come out as composed (its Subject started with an empty
    line, which clients showed as a leading space)."""
    import hashlib

    from helpdesk.notifier.adapters.mail_files import MailFiles

    data = b"%PDF-1.4 report"
    digest = hashlib.sha256(data).hexdigest()
    subject = f"{rendered_subject('el', 'ticket_files')}: {SAMPLE}"
    mails = composer()
    monkeypatch.setattr(mails, "render", lambda *_: (subject, "text", "<p>html</p>"))
    composed = mails.compose(
        event_id=uuid4(),
        to="m@example.org",
        to_name=None,
        template="ticket_files",
        locale="el",
        context={},
        headers={"In-Reply-To": "<t.1@helpdesk>", "Reply-To": "h+t@x.org"},
        attachments=(MailFile(digest, "αναφορά.pdf", "application/pdf"),),
    )
    sent = await MailFiles(MemoryBlobs({digest: data}))(composed)  # type: ignore[arg-type]
    assert decoded_subject(sent.data) == subject
    assert b"Subject: \n" not in sent.data
    read = email.message_from_bytes(sent.data, policy=email.policy.default)
    assert read["In-Reply-To"] == "<t.1@helpdesk>"
    assert read["Reply-To"] == "h+t@x.org"
    [attachment] = list(read.iter_attachments())
    assert attachment.get_filename() == "αναφορά.pdf"
    assert attachment.get_content() == data


@pytest.mark.parametrize("reason", ["unknown_sender", "not_participant", "ticket_closed"])
def test_every_explanation_subject_decodes_to_the_rendered_text(reason: str) -> None:
    settings = MailgateSettings(mail_reply_key="k" * 32, mail_from="Υποστήριξη <h@x.org>")
    explainer = Explainer(None, settings)  # type: ignore[arg-type]
    message = explainer.compose(
        to="someone@example.org",
        reason=reason,
        subject=SAMPLE,
        in_reply_to=None,
        day=date(2026, 12, 7),
    )
    expected = " ".join(
        explainer.templates.get_template(f"{reason}.subject.txt")
        .render(
            subject=SAMPLE,
            address="someone@example.org",
            register_link="",
            register_link_en="",
            portal_link="",
            portal_link_en="",
        )
        .split()
    )
    assert "λογαριασμό για" in expected or reason != "unknown_sender"
    assert decoded_subject(message.as_bytes()) == expected
