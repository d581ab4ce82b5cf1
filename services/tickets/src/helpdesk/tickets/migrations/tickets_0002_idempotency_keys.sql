-- `Idempotency-Key` on submitting tickets and adding messages (docs/tickets.md):
-- the first answer per (user, key), written in the transaction that created
-- the ticket or message, replayed for 24 hours.
CREATE TABLE idempotency_keys (
    user_id     uuid NOT NULL,
    key         text NOT NULL,
    fingerprint text NOT NULL,
    answer      jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
