"""SSM Parameter Store adapter: secrets read once per container by the composition root."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import UpstreamError


def read_parameter(client: Any, name: str) -> str:
    """The decrypted value of a (SecureString) parameter; an ``UpstreamError`` if unreadable."""
    try:
        response = client.get_parameter(Name=name, WithDecryption=True)
    except (ClientError, BotoCoreError) as err:
        raise UpstreamError(f"parameter {name} could not be read") from err
    return str(response["Parameter"]["Value"])
