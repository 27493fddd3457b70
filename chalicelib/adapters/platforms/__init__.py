"""Platform adapters: a pure ``parse_*`` per payload plus a client over an HTTP transport."""
