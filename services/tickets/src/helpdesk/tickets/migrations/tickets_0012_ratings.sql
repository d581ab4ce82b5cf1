-- Satisfaction ratings in the SLA report (issue 29, docs/workspace.md): the
-- history row of a TicketRated event carries its rating (1-5); every other row
-- has none. Rebuilt with the projection like the rest of ticket_history.
ALTER TABLE ticket_history ADD COLUMN rating smallint;
