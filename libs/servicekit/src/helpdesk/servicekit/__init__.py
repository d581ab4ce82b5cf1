"""Shared machinery of the helpdesk services: event store, outbox relay,
idempotent consumers, projections, settings, logging and ops endpoints."""
