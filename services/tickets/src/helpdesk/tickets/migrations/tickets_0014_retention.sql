-- Retention (issue 30, docs/privacy.md): the closed tickets whose texts and files
-- have expired (HELPDESK_RETENTION_CLOSED_DAYS), so the job does each once.
CREATE TABLE expired_tickets (
    ticket_id  uuid PRIMARY KEY,
    expired_at timestamptz NOT NULL
);
