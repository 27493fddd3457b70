"""The webhook secret comes from SSM Parameter Store in AWS, read once per container."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from chalicelib.errors import UpstreamError
from chalicelib.wiring import Container
from tests.integration.conftest import MOTO_SETTINGS


class CountingSsm:
    """Wraps the moto client to count the calls a container makes."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls = 0

    def get_parameter(self, **kwargs: Any) -> Any:
        self.calls += 1
        return self.client.get_parameter(**kwargs)


def test_the_secret_is_read_from_ssm_once_per_container(aws: None) -> None:
    import boto3

    ssm = boto3.client("ssm", region_name="ap-south-1")
    ssm.put_parameter(Name="/tvarit/webhook-secret", Value="s3cr3t", Type="SecureString")
    settings = dataclasses.replace(
        MOTO_SETTINGS, webhook_secret="", webhook_secret_parameter="/tvarit/webhook-secret"
    )
    counting = CountingSsm(ssm)

    class Wired(Container):
        def _client(self, service: str) -> Any:
            assert service == "ssm"
            return counting

    container = Wired(settings)
    assert counting.calls == 0  # nothing is read before the first use
    assert container.webhook_secret == "s3cr3t"
    assert container.webhook_secret == "s3cr3t"
    assert counting.calls == 1


def test_the_env_var_wins_locally_and_no_client_is_built(aws: None) -> None:
    class NoClients(Container):
        def _client(self, service: str) -> Any:
            raise AssertionError("no AWS call for a secret given in the environment")

    settings = dataclasses.replace(MOTO_SETTINGS, webhook_secret_parameter="/tvarit/x")
    assert NoClients(settings).webhook_secret == "x"


def test_a_missing_parameter_is_an_upstream_error(aws: None) -> None:
    settings = dataclasses.replace(
        MOTO_SETTINGS, webhook_secret="", webhook_secret_parameter="/tvarit/missing"
    )
    with pytest.raises(UpstreamError):
        _ = Container(settings).webhook_secret
