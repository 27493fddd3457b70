"""SSM Parameter Store adapter: secrets read once per container by the composition root."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import UpstreamError


def read_parameter(client: Any, name: str) -> str:
    """The decrypted value of a (SecureString) parameter, ``""`` if there is none.

    A missing parameter is an unset secret (a platform left off, a webhook that refuses every
    request); anything else is an ``UpstreamError``, and the next call tries again.
    """
    try:
        response = client.get_parameter(Name=name, WithDecryption=True)
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") == "ParameterNotFound":
            return ""
        raise UpstreamError(f"parameter {name} could not be read") from err
    except BotoCoreError as err:
        raise UpstreamError(f"parameter {name} could not be read") from err
    return str(response["Parameter"]["Value"])
