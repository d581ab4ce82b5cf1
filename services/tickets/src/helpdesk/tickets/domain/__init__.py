"""The tickets domain: the `Ticket` aggregate, its private events, the routing
policy and SLA calendars. Pure: no I/O, no framework, no transport."""
