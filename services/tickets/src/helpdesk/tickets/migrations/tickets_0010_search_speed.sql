-- Search at 100,000 tickets (docs/search.md, "Performance"). Agent search
-- visits every row its words match (10-20 % of all tickets for a common word)
-- to keep the newest ones; that visit has to be cheap:
-- * `created_at` in the row itself, so the candidates are chosen without a
--   join to `tickets`;
-- * narrow rows: toast_tuple_target at its minimum moves the tsvectors and the
--   snippet text out of line (TOAST), so the bitmap heap scan reads a few
--   thousand small pages instead of the whole table; the wide values are read
--   only for the few candidates that are ranked and the page that gets snippets;
-- * GIN without a pending list (fastupdate off): a query never scans unmerged
--   entries; each write pays its own index update (one row per command).
ALTER TABLE ticket_search SET (toast_tuple_target = 128);
ALTER TABLE ticket_search ADD COLUMN created_at timestamptz;
-- Rewrites every row (also applying the toast target to the existing ones).
UPDATE ticket_search s SET created_at = coalesce(
    (SELECT t.created_at FROM tickets t WHERE t.ticket_id = s.ticket_id), now());
ALTER TABLE ticket_search ALTER COLUMN created_at SET NOT NULL;
ALTER INDEX ticket_search_public SET (fastupdate = off);
ALTER INDEX ticket_search_all SET (fastupdate = off);
-- A customer's search starts from their own rows, newest first.
DROP INDEX ticket_search_requester;
CREATE INDEX ticket_search_requester ON ticket_search (requester_id, created_at DESC);
