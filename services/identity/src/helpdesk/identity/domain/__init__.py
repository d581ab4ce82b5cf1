"""Identity's domain: the `User` and `Session` aggregates, their private events,
the account policy and every refusal. Pure: no I/O."""
