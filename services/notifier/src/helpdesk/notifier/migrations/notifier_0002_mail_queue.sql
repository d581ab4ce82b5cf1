-- Mail leaves the database transaction: the inbox transaction records one row
-- per (event, recipient, template) with the composed message, and a sender
-- loop sends it after commit (claiming rows with a lease, so replicas never
-- send the same row at once), marks it sent and forgets the message bytes.
-- Rows that existed before this migration were sent inside the transaction.
ALTER TABLE deliveries
    ADD COLUMN id              bigint GENERATED ALWAYS AS IDENTITY,
    ADD COLUMN status          text NOT NULL DEFAULT 'sent'
        CHECK (status IN ('pending', 'sent', 'bounced', 'expired')),
    ADD COLUMN sender          text,
    ADD COLUMN message         bytea,
    ADD COLUMN attempts        integer NOT NULL DEFAULT 0,
    ADD COLUMN created_at      timestamptz NOT NULL DEFAULT now(),
    -- When the row may next be claimed: after a back-off, or when a claim's lease ends.
    ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN last_error      text,
    ALTER COLUMN sent_at DROP NOT NULL,
    ALTER COLUMN sent_at DROP DEFAULT;

ALTER TABLE deliveries ALTER COLUMN status SET DEFAULT 'pending';
ALTER TABLE deliveries ADD CONSTRAINT deliveries_id_key UNIQUE (id);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';

CREATE FUNCTION deliveries_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(TG_TABLE_SCHEMA || '_mail', '');
    RETURN NULL;
END $$;

CREATE TRIGGER deliveries_queued AFTER INSERT ON deliveries
    FOR EACH STATEMENT EXECUTE FUNCTION deliveries_notify();
