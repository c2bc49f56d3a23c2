"""Helpers shared by the test suite: local servers and fault injection."""
