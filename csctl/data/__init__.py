"""Files shipped with csctl: the default templates a new ledger starts from."""
