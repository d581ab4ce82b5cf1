-- Every mail the mailgate accepted, kept whole before the SMTP 250 / the IMAP
-- flag (docs/mail.md). One row per mail: a second delivery of the same bytes
-- (sha256) or the same Message-ID is recognised and adds nothing.

CREATE TABLE mails (
    mail_id       uuid PRIMARY KEY,
    sha256        text NOT NULL UNIQUE,
    message_id    text UNIQUE,
    raw           bytea NOT NULL,
    source        text NOT NULL,                 -- smtp, lmtp, imap
    envelope_from text,                          -- '' for a null sender (bounce)
    recipients    text[] NOT NULL DEFAULT '{}',
    received_at   timestamptz NOT NULL DEFAULT now(),
    -- received (waiting) -> done | ignored | dead
    status        text NOT NULL DEFAULT 'received',
    sender        text,
    outcome       text,
    ticket_id     uuid,
    attempts      integer NOT NULL DEFAULT 0,
    not_before    timestamptz NOT NULL DEFAULT now(),  -- lease / back-off
    last_error    text,
    processed_at  timestamptz
);

CREATE INDEX mails_waiting ON mails (not_before) WHERE status = 'received';
CREATE INDEX mails_by_sender ON mails (sender, received_at) WHERE sender IS NOT NULL;

-- The short mails telling a sender why their mail created nothing: at most one
-- per address, reason and day; sent after the commit that records them.
CREATE TABLE explanations (
    address  text NOT NULL,
    reason   text NOT NULL,
    day      date NOT NULL,
    mail_id  uuid NOT NULL,
    subject  text NOT NULL,
    in_reply_to text,
    sent_at  timestamptz,
    attempts integer NOT NULL DEFAULT 0,
    not_before timestamptz NOT NULL DEFAULT now(),  -- lease / back-off
    PRIMARY KEY (address, reason, day)
);

CREATE INDEX explanations_unsent ON explanations (not_before) WHERE sent_at IS NULL;
