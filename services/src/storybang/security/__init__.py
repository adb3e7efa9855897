"""Credentials: access tokens (signed JWTs) and password hashing, shared by identity and the notifier."""
