-- One row per mail sent, written in the same transaction as the inbox entry of
-- the event that caused it: a redelivered event finds its mail already here.
CREATE TABLE deliveries (
    event_id   uuid NOT NULL,
    recipient  text NOT NULL,
    template   text NOT NULL,
    message_id text NOT NULL,
    sent_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, recipient, template)
);
