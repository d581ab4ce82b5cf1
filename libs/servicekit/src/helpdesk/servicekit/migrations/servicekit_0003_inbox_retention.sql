-- Inbox rows are deleted after a retention period (retention.py): the pruning
-- finds the old ones by this index instead of scanning the whole inbox.
CREATE INDEX inbox_handled_at ON inbox (handled_at);
