"""Pydantic models of every record kind and of the ledger's settings."""
