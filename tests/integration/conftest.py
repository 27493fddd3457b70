from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from chalicelib.settings import Settings

MOTO_SETTINGS = Settings(
    stage="test",
    region="ap-south-1",
    endpoint_url=None,
    table_prefix="it-",
    mentions_queue_url="",
    state_topic_arn_prefix="",
    webhook_secret="x",
)


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def tables(aws: None) -> Iterator[Settings]:
    from chalicelib.adapters.dynamo.models import create_tables

    create_tables(MOTO_SETTINGS)
    yield MOTO_SETTINGS


@pytest.fixture
def clients(aws: None) -> dict[str, Any]:
    import boto3

    return {name: boto3.client(name, region_name="ap-south-1") for name in ("sqs", "sns")}
