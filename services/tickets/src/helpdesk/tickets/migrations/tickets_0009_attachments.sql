-- Attachments (issue 14): which live attachment holds which stored bytes, so the
-- eraser deletes an object only when no attachment holds it any more. A read
-- model of the ticket streams (AttachmentsProjection), rebuilt by replay.
CREATE TABLE attachments (
    attachment_id uuid PRIMARY KEY,
    ticket_id     uuid NOT NULL,
    sha256        text NOT NULL,
    size          bigint NOT NULL,
    thumbnail     boolean NOT NULL DEFAULT false,
    removed       boolean NOT NULL DEFAULT false
);
CREATE INDEX attachments_live_by_sha256 ON attachments (sha256) WHERE NOT removed;
