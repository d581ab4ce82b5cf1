"""The identity domain: pure rules and event-sourced aggregates, no I/O."""
