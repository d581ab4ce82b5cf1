-- The backlog and overdue gauges (adapters/insight_ops.py) count unresolved
-- tickets every 15 s on every replica. Without this index that was a scan of
-- every ticket ever submitted (60-130 ms at 217,000 tickets, growing with
-- history); with it, an index-only scan of the unresolved ones.
CREATE INDEX tickets_backlog ON tickets (priority, queue, status)
    INCLUDE (first_response_due, resolution_due)
    WHERE status IN ('submitted', 'open', 'pending');
