-- Signed webhooks (docs/api.md, "Webhooks"). The secret signs every delivery, so it
-- is kept to sign with (never logged, shown to the admin once). A delivery row is
-- recorded by the ticket-event consumer, once per (endpoint, event, type), with the
-- exact body that is signed; the sender claims due rows with a lease, like the
-- mail queue, and retries them on a back-off until `retry_until`.
CREATE TABLE webhooks (
    webhook_id      uuid PRIMARY KEY,
    url             text NOT NULL,
    event_types     text[] NOT NULL,
    description     text NOT NULL DEFAULT '',
    secret          text NOT NULL,
    enabled         boolean NOT NULL DEFAULT true,
    disabled_reason text,
    alert_email     text,
    alert_locale    text NOT NULL DEFAULT 'el',
    created_by      uuid NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE webhook_deliveries (
    delivery_id      uuid PRIMARY KEY,
    webhook_id       uuid NOT NULL REFERENCES webhooks ON DELETE CASCADE,
    event_id         uuid NOT NULL,
    event_type       text NOT NULL,
    body             bytea NOT NULL,
    status           text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now(),
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    retry_until      timestamptz NOT NULL,
    last_attempt_at  timestamptz,
    last_status_code integer,
    last_error       text,
    delivered_at     timestamptz,
    UNIQUE (webhook_id, event_id, event_type)
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (webhook_id, created_at DESC);
