"""Timeouts and retry budgets for every AWS client, sized for Lambda.

botocore's defaults (60 s to connect, 60 s to read, legacy retries) let one call to an AWS
endpoint that stopped answering outlive the API function's 10 s timeout and most of an event
function's 30 s: the invocation is killed without reporting which records it finished, and
the webhook's caller waits until API Gateway gives up. With this budget a call to an endpoint
that refuses, hangs or throttles fails in seconds and becomes an error the service can act on
(a 503 with Retry-After, a batch item failure).

Worst case of one call: ``max_attempts * (connect_timeout + read_timeout)`` plus standard
mode's jittered backoff (under 1 s, then under 2 s), about 12 s with the defaults; a call to
an endpoint that refuses connections costs only the backoff.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from chalicelib.errors import BackpressureError, UpstreamError

# Error codes AWS uses for "slow down" or a transient failure of its own across DynamoDB, SQS
# and SNS (standard retry mode's lists): retried by botocore first, then a BackpressureError.
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
        "KMSThrottlingException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "InternalError",
        "InternalServerError",
    }
)

# How long a caller should wait before retrying, by what went wrong (Retry-After, seconds).
RETRY_AFTER_THROTTLED = 2
RETRY_AFTER_UNREACHABLE = 5


@dataclass(frozen=True)
class AwsBudget:
    """How long one AWS call may take, and how often botocore may try it."""

    connect_timeout: float = 1.0
    read_timeout: float = 2.0
    max_attempts: int = 3  # total, the first included

    def botocore_config(self) -> Any:
        """A botocore ``Config`` for clients built directly (SQS, SNS, SSM)."""
        import botocore.config

        return botocore.config.Config(
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            retries={"mode": "standard", "total_max_attempts": self.max_attempts},
        )

    def apply_to_pynamodb(self, meta: Any) -> None:
        """Set a PynamoDB model's ``Meta`` to this budget (PynamoDB builds its own client)."""
        meta.connect_timeout_seconds = self.connect_timeout
        meta.read_timeout_seconds = self.read_timeout
        # PynamoDB's legacy setting counts retries: total attempts = 1 + max_retry_attempts.
        meta.max_retry_attempts = self.max_attempts - 1


def is_backpressure(err: BaseException) -> bool:
    """True when AWS is throttling, unreachable or not answering (not a refusal of the request)."""
    if isinstance(
        err,
        EndpointConnectionError | ConnectTimeoutError | ReadTimeoutError | ConnectionClosedError,
    ):
        return True
    if isinstance(err, ClientError):
        return str(err.response.get("Error", {}).get("Code", "")) in THROTTLING_CODES
    return False


def upstream_error(err: ClientError | BotoCoreError, what: str) -> UpstreamError:
    """Translate a botocore error at the adapter boundary: backpressure carries a Retry-After."""
    if isinstance(err, ClientError) and is_backpressure(err):
        return BackpressureError(
            f"{what} is throttling or failing requests", retry_after=RETRY_AFTER_THROTTLED
        )
    if is_backpressure(err):
        return BackpressureError(f"{what} is unreachable", retry_after=RETRY_AFTER_UNREACHABLE)
    return UpstreamError(f"{what} refused the request")
