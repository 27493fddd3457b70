"""The AWS read timeout is a setting: Lambda's 2 s by default, the local stage's own value."""

from __future__ import annotations

from chalicelib import wiring
from chalicelib.settings import ENV_AWS_READ_TIMEOUT, Settings


def test_the_read_timeout_defaults_to_the_lambda_budget_and_can_be_set() -> None:
    assert Settings.from_env({}).aws_read_timeout == 2.0
    assert Settings.from_env({ENV_AWS_READ_TIMEOUT: "10"}).aws_read_timeout == 10.0


def test_the_container_builds_every_client_with_it() -> None:
    settings = Settings.from_env({ENV_AWS_READ_TIMEOUT: "7.5"})
    budget = wiring.Container(settings).aws_budget
    assert budget.read_timeout == 7.5
    assert budget.botocore_config().read_timeout == 7.5
