"""Everything the tickets service does outside its domain: PostgreSQL (event
store, outbox, projections, read-model SQL), identity's user events, the
routing policy file."""
