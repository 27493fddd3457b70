"""Secrets come from SSM Parameter Store in AWS, each read once per container, on first use."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from chalicelib.errors import UpstreamError
from chalicelib.settings import SECRET_FIELDS, secret_parameter_name
from chalicelib.wiring import Container
from tests.integration.conftest import MOTO_SETTINGS

IN_SSM = dataclasses.replace(MOTO_SETTINGS, webhook_secret="", secrets_path="/tvarit/")


class CountingSsm:
    """Wraps the moto client to count the calls a container makes."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls: list[str] = []

    def get_parameter(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs["Name"])
        return self.client.get_parameter(**kwargs)


def wired(settings: Any, ssm: Any) -> Container:
    class Wired(Container):
        def _client(self, service: str) -> Any:
            assert service == "ssm"
            return ssm

    return Wired(settings)


def test_each_secret_is_read_from_ssm_once_per_container(aws: None) -> None:
    import boto3

    ssm = boto3.client("ssm", region_name="ap-south-1")
    ssm.put_parameter(Name="/tvarit/webhook-secret", Value="s3cr3t", Type="SecureString")
    ssm.put_parameter(Name="/tvarit/x-bearer-token", Value="AAAA", Type="SecureString")
    counting = CountingSsm(ssm)
    container = wired(IN_SSM, counting)
    assert counting.calls == []  # nothing is read before the first use
    assert container.webhook_secret == "s3cr3t"
    assert container.webhook_secret == "s3cr3t"
    assert container.secret("x_bearer_token") == "AAAA"
    assert container.secret("x_bearer_token") == "AAAA"
    assert counting.calls == ["/tvarit/webhook-secret", "/tvarit/x-bearer-token"]


def test_a_missing_parameter_is_an_unset_secret(aws: None) -> None:
    import boto3

    container = wired(IN_SSM, boto3.client("ssm", region_name="ap-south-1"))
    assert container.secret("facebook_access_token") == ""


def test_the_env_var_wins_locally_and_no_client_is_built(aws: None) -> None:
    class NoClients(Container):
        def _client(self, service: str) -> Any:
            raise AssertionError("no AWS call for a secret given in the environment")

    settings = dataclasses.replace(MOTO_SETTINGS, secrets_path="/tvarit/")
    assert NoClients(settings).webhook_secret == "x"


def test_an_unreadable_parameter_is_an_upstream_error() -> None:
    from botocore.exceptions import ClientError

    class Denied:
        def get_parameter(self, **kwargs: Any) -> Any:
            raise ClientError({"Error": {"Code": "AccessDeniedException"}}, "GetParameter")

    with pytest.raises(UpstreamError):
        _ = wired(IN_SSM, Denied()).webhook_secret


def test_only_secret_settings_can_be_asked_for() -> None:
    with pytest.raises(AttributeError):
        Container(IN_SSM).secret("table_prefix")
    assert secret_parameter_name("/tvarit/", "webhook_secret") == "/tvarit/webhook-secret"
    assert "webhook_secret" in SECRET_FIELDS
