-- Tickets read models (projections of the ticket streams), the ticket number
-- counter, the SLA deadlines the monitor scans, and the users projection fed
-- by identity events.

CREATE TABLE ticket_numbers (
    year        integer PRIMARY KEY,
    last_number integer NOT NULL
);

CREATE TABLE users (
    user_id    uuid PRIMARY KEY,
    name       text,
    username   text,
    email      text,
    locale     text NOT NULL DEFAULT 'el',
    roles      text[] NOT NULL DEFAULT '{}',
    active     boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tickets (
    ticket_id          uuid PRIMARY KEY,
    number             text NOT NULL UNIQUE,
    requester_id       uuid NOT NULL,
    requester_name     text,
    subject            text NOT NULL,
    status             text NOT NULL,
    priority           text NOT NULL,
    category           text,
    queue              text NOT NULL,
    assignee_id        uuid,
    assignee_name      text,
    first_response_due timestamptz,
    resolution_due     timestamptz,
    -- The soonest running deadline: agents' queues are sorted by it.
    next_due           timestamptz,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    version            integer NOT NULL
);

CREATE INDEX tickets_by_requester ON tickets (requester_id, created_at DESC);
CREATE INDEX tickets_by_due ON tickets (next_due NULLS LAST, created_at);

CREATE TABLE sla_deadlines (
    ticket_id uuid NOT NULL,
    -- first_response_warning, first_response_breach, resolution_warning,
    -- resolution_breach, escalation
    kind      text NOT NULL,
    due_at    timestamptz NOT NULL,
    fired     boolean NOT NULL DEFAULT false,
    PRIMARY KEY (ticket_id, kind)
);

CREATE INDEX sla_deadlines_due ON sla_deadlines (due_at) WHERE NOT fired;
