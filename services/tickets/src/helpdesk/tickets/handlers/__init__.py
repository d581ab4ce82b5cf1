"""The use cases of the tickets service: `async def handler(request, deps) -> result`.

`commands.py` changes tickets, `queries.py` reads them, `insight.py`
searches them and reports on their SLA history, `mail.py` turns mails into
tickets and messages, `replay.py` replays assignment for the operator, `sla.py`
is the SLA monitor; `assignment.py` holds the
event handlers that assign tickets automatically; `deps.py` names the ports
they use. `HANDLERS` is what
`bootstrap.py` serves: `ctx.serve(bind(deps, HANDLERS))`.
"""

from helpdesk.tickets.handlers.agents import AGENTS
from helpdesk.tickets.handlers.attachments import ATTACHMENTS
from helpdesk.tickets.handlers.commands import COMMANDS
from helpdesk.tickets.handlers.deps import Table
from helpdesk.tickets.handlers.export import EXPORT
from helpdesk.tickets.handlers.filters import FILTERS
from helpdesk.tickets.handlers.insight import INSIGHT
from helpdesk.tickets.handlers.mail import MAIL
from helpdesk.tickets.handlers.queries import QUERIES
from helpdesk.tickets.handlers.replay import REPLAY

HANDLERS: Table = {
    **COMMANDS,
    **QUERIES,
    **INSIGHT,
    **MAIL,
    **ATTACHMENTS,
    **AGENTS,
    **REPLAY,
    **FILTERS,
    **EXPORT,
}

__all__ = ["HANDLERS"]
