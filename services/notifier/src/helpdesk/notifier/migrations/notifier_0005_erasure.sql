-- Erasure (issue 30, docs/privacy.md "Erasure in the notifier and the mailgate"):
-- whose personal data a recorded mail or webhook delivery may hold, so that
-- PersonalDataErased finds it by the person's id. `people`: the owners of the
-- personal fields of the event behind it (contracts/personal.py); `recipient_id`:
-- the person the mail is addressed to (the owner of the event's field holding
-- that address; NULL for the on-call address and the webhook alerts). Rows
-- recorded before this migration have neither: the erasure finds those by the
-- person's addresses (and a webhook body by the ids in it).
ALTER TABLE deliveries
    ADD COLUMN recipient_id uuid,
    ADD COLUMN people uuid[];

ALTER TABLE webhook_deliveries ADD COLUMN people uuid[];

CREATE INDEX deliveries_recipient_id ON deliveries (recipient_id) WHERE recipient_id IS NOT NULL;
CREATE INDEX deliveries_people ON deliveries USING gin (people);
CREATE INDEX webhook_deliveries_people ON webhook_deliveries USING gin (people);
