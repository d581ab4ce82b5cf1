-- Erasure (issue 30, docs/privacy.md "Erasure in the notifier and the mailgate").
-- Whose a processed mail is, as the tickets service answered it: `user_id` the
-- sender it resolved, `requester_id` the requester of the ticket the mail became
-- or added to. PersonalDataErased finds the person's mails by them (mails kept
-- before this migration, and mails that created nothing, by the addresses of the
-- person's linked mails).
ALTER TABLE mails
    ADD COLUMN user_id uuid,
    ADD COLUMN requester_id uuid;

CREATE INDEX mails_by_user ON mails (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX mails_by_requester ON mails (requester_id) WHERE requester_id IS NOT NULL;

-- The people erased: a mail of theirs that the tickets service answers only after
-- the erasure (it waited out an outage) is stored blank, not whole. Ids only.
CREATE TABLE erased_people (
    user_id   uuid PRIMARY KEY,
    erased_at timestamptz NOT NULL
);
