"""The soak's throttling hook (local/faults.py): AWS's own throttling answers, through botocore.

A client with the hook answers the share of calls the switch file names with DynamoDB's or
SNS's throttling error; botocore retries it within its budget and then raises the same
``ClientError`` a throttled production call raises. With the switch off, calls reach (moto's)
AWS untouched.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.config
import botocore.session
import pytest
from botocore.exceptions import ClientError

from local.faults import FaultSwitch, answer_for, read_switch, write_switch

RETRIES = 2  # botocore's ``max_attempts`` counts the retries after the first call


@pytest.fixture
def switch(tmp_path: Path) -> FaultSwitch:
    return FaultSwitch(tmp_path / "faults.json", random.Random(1), {})


def _client(service: str, switch: FaultSwitch) -> Any:
    client = botocore.session.get_session().create_client(
        service,
        region_name="ap-south-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=botocore.config.Config(retries={"mode": "standard", "max_attempts": RETRIES}),
    )
    client.meta.events.register(f"before-send.{service}", lambda **_: answer_for(switch, service))
    return client


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # botocore's backoff between retries; the retries themselves are what is tested.
    import botocore.retries.standard

    monkeypatch.setattr(botocore.retries.standard.RetryPolicy, "compute_retry_delay", lambda *a: 0)
    yield


@pytest.mark.parametrize(
    ("service", "call", "code"),
    [
        ("dynamodb", lambda c: c.list_tables(), "ProvisionedThroughputExceededException"),
        ("sns", lambda c: c.list_topics(), "Throttling"),
    ],
)
def test_a_switched_on_service_is_throttled_and_retried_as_aws_would_be(
    switch: FaultSwitch, no_sleep: None, service: str, call: Any, code: str
) -> None:
    write_switch(switch.path, {service: 1.0})
    with pytest.raises(ClientError) as caught:
        call(_client(service, switch))
    assert caught.value.response["Error"]["Code"] == code
    assert caught.value.response["ResponseMetadata"]["RetryAttempts"] == RETRIES


def test_switched_off_calls_reach_aws(switch: FaultSwitch, aws: None) -> None:
    write_switch(switch.path, {"sns": 1.0})  # another service's faults leave DynamoDB alone
    assert _client("dynamodb", switch).list_tables()["TableNames"] == []
    write_switch(switch.path, {})
    assert "Topics" in _client("sns", switch).list_topics()


def test_a_share_throttles_about_that_share_of_calls(switch: FaultSwitch) -> None:
    write_switch(switch.path, {"dynamodb": 0.3})
    throttled = sum(answer_for(switch, "dynamodb") is not None for _ in range(2000))
    assert 500 < throttled < 700


def test_no_file_or_a_broken_one_means_no_faults(tmp_path: Path) -> None:
    assert read_switch(tmp_path / "absent.json") == {}
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    assert read_switch(tmp_path / "broken.json") == {}
    write_switch(tmp_path / "f.json", {"dynamodb": 0.5, "sqs": 1.0})
    assert read_switch(tmp_path / "f.json") == {"dynamodb": 0.5}  # only what it can throttle
