"""Form handling shared by the portal pages: CSRF check, values, field errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from fastapi import Request
from pydantic import ValidationError

from helpdesk.contracts.replies import FieldError
from helpdesk.gateway.portal.i18n import Lang, duration, field_message, t
from helpdesk.gateway.portal.rendering import LOCAL_ZONE
from helpdesk.gateway.portal.session import csrf_ok
from helpdesk.gateway.problems import ProblemError

# Never echoed back into a re-rendered form.
SECRET_FIELDS = frozenset({"password", "password_confirm", "new_password", "csrf_token"})


class CsrfError(Exception):
    """A POST without the matching CSRF token: answered with the 403 page."""


@dataclass
class Form:
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str:
        return self.values.get(name, "")

    def require(self, lang: Lang, *names: str) -> None:
        for name in names:
            if not self.get(name).strip():
                self.errors.setdefault(name, t("required", lang))

    def shown(self) -> dict[str, str]:
        """What the page may show again: everything the user typed except secrets."""
        return {k: v for k, v in self.values.items() if k not in SECRET_FIELDS}


async def read_form(request: Request) -> Form:
    data = await request.form()
    if not csrf_ok(request, data):
        raise CsrfError
    values = {k: v for k, v in data.items() if isinstance(v, str)}
    return Form(values=values)


def add_field_errors(form: Form, errors: list[FieldError], lang: Lang) -> None:
    for error in errors:
        name = error.field.split(".")[-1] or "form"
        form.errors.setdefault(name, field_message(error.message, lang))


def add_validation_errors(form: Form, exc: ValidationError, lang: Lang) -> None:
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        name = loc[0] if loc else "form"
        message = str(err.get("msg", ""))
        if name == "email":
            message = t("invalid_email", lang)
        form.errors.setdefault(name, field_message(message, lang))


def problem_message(problem: ProblemError, lang: Lang) -> str:
    """A sentence for the top of a form: ours where we know the code, else the service's."""
    if problem.code == "rate_limited":
        return t("rate_limited", lang).format(wait=duration((problem.retry_after or 60) / 60, lang))
    if problem.code == "unavailable":
        return t("error_503_text", lang)
    if problem.code == "validation_error":
        return t("form_has_errors", lang)
    known = t(problem.code, lang)
    if known != problem.code:
        return known
    key = f"error_{problem.status}_text"
    generic = t(key, lang)
    return problem.detail if lang == "en" or generic == key else generic


def local_datetime(value: str | None) -> datetime | None:
    """A `datetime-local` field ("2026-10-29T09:00"), read as Athens time."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value[:32])
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=LOCAL_ZONE)
