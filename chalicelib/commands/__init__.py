"""Subcommands of the ``tvarit`` command (see ``chalicelib/cli.py``)."""
