"""Fluent Bit's stream processor on sqlglot."""
