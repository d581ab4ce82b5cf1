"""Versioned SQL of the identity schema (applied by servicekit.db)."""
