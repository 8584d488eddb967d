"""The command line: parses options, calls the domain, prints. The only package importing click."""
