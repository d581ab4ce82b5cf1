"""The `{lang}` part of every portal URL."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from helpdesk.gateway.portal.i18n import Lang, lang_or_none
from helpdesk.gateway.problems import ProblemError


def page_lang(lang: str) -> Lang:
    found = lang_or_none(lang)
    if found is None:
        raise ProblemError(404, "not_found", "No such page.")
    return found


PageLang = Annotated[Lang, Depends(page_lang)]
