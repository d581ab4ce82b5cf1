"""Local development stack: embedded NATS, PostgreSQL, SMTP sink and all services."""
