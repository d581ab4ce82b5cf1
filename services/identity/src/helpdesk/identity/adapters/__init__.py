"""Every side effect of identity: PostgreSQL, argon2, JWT signing, token hashing."""
