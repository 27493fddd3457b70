"""Use cases, written against ports (Protocols)."""
