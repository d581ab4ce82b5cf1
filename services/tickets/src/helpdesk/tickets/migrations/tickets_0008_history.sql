-- Every ticket as it stood after each of its events, with its SLA facts
-- (adapters/sla_facts.py): a projection of the ticket streams, rebuilt from
-- the event store. It answers "the queue as of 09:00 last Monday" and the SLA
-- reports (docs/reports.md). A row is valid from its event's time until the
-- next event's (valid_to NULL: the current state).

CREATE TABLE ticket_history (
    ticket_id              uuid NOT NULL,
    version                integer NOT NULL,
    valid_from             timestamptz NOT NULL,
    valid_to               timestamptz,
    event_type             text NOT NULL,
    target                 text,          -- first_response | resolution (SLA events)
    number                 text NOT NULL,
    subject                text NOT NULL,
    requester_id           uuid NOT NULL,
    requester_name         text,
    status                 text NOT NULL,
    priority               text NOT NULL,
    category               text,
    queue                  text NOT NULL,
    assignee_id            uuid,
    assignee_name          text,
    first_response_due     timestamptz,
    resolution_due         timestamptz,
    next_due               timestamptz,
    created_at             timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL,
    clock                  text NOT NULL,
    fr_target_minutes      double precision NOT NULL,
    res_target_minutes     double precision NOT NULL,
    first_response_at      timestamptz,
    first_response_minutes double precision,
    resolved_at            timestamptz,
    resolution_minutes     double precision,
    running_since          timestamptz,
    spent_minutes          double precision NOT NULL DEFAULT 0,
    fr_breached_at         timestamptz,
    res_breached_at        timestamptz,
    escalated_at           timestamptz,
    reopens                integer NOT NULL DEFAULT 0,
    PRIMARY KEY (ticket_id, version)
);

-- The state at an instant: rows whose [valid_from, valid_to) holds it.
CREATE INDEX ticket_history_valid ON ticket_history
    USING gist (tstzrange(valid_from, valid_to, '[)'));
CREATE INDEX ticket_history_backlog ON ticket_history
    USING gist (tstzrange(valid_from, valid_to, '[)'))
    WHERE status IN ('submitted', 'open', 'pending');
CREATE INDEX ticket_history_current ON ticket_history (ticket_id) WHERE valid_to IS NULL;
CREATE INDEX ticket_history_created ON ticket_history (created_at);
CREATE INDEX ticket_history_resolved ON ticket_history (resolved_at)
    WHERE resolved_at IS NOT NULL;
CREATE INDEX ticket_history_alarms ON ticket_history (valid_from)
    WHERE event_type IN ('TicketSlaBreached', 'TicketEscalated');
