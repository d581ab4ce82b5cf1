-- The relay deletes every row it published (raw tokens included), so the
-- outbox holds only pending rows: "published" and "secret" marks are gone.
DROP INDEX outbox_pending;
ALTER TABLE outbox DROP COLUMN published_at, DROP COLUMN has_secret;
