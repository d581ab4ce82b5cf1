-- The mail channel (docs/mail.md): senders are found by address in the users
-- projection, and each mail (by its Message-ID) becomes at most one ticket or
-- message: the answer given the first time is kept and given again.

CREATE INDEX users_by_email ON users (lower(email));

CREATE TABLE mail_intake (
    mail_id     text PRIMARY KEY,
    ticket_id   uuid NOT NULL,
    result      jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
