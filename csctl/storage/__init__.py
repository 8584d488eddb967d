"""Everything that touches the ledger's files: discovery, TOML, atomic writes, the lock, IDs."""
