"""csctl: a customer-service ledger kept as plain TOML files in a git repository."""

__version__ = "0.1.0"
