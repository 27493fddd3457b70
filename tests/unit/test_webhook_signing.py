from __future__ import annotations

import pytest

from chalicelib.domain.webhook import sign, verify
from chalicelib.errors import AuthenticationError

SECRET = "s3cret"
BODY = b'{"platform":"x"}'
NOW = 1_700_000_000


def test_a_fresh_signed_body_verifies() -> None:
    verify(SECRET, str(NOW), sign(SECRET, NOW, BODY), BODY, now=NOW + 10)


@pytest.mark.parametrize(
    ("timestamp", "signature", "body", "now", "loc"),
    [
        (None, sign(SECRET, NOW, BODY), BODY, NOW, "header:x-tvarit-timestamp"),
        (str(NOW), None, BODY, NOW, "header:x-tvarit-signature"),
        ("yesterday", sign(SECRET, NOW, BODY), BODY, NOW, "header:x-tvarit-timestamp"),
        (str(NOW), sign(SECRET, NOW, BODY), BODY + b" ", NOW, "header:x-tvarit-signature"),
        (str(NOW), sign("other", NOW, BODY), BODY, NOW, "header:x-tvarit-signature"),
        (str(NOW), sign(SECRET, NOW, BODY), BODY, NOW + 301, "header:x-tvarit-timestamp"),
        (str(NOW), sign(SECRET, NOW, BODY), BODY, NOW - 301, "header:x-tvarit-timestamp"),
        (str(NOW), "md5=" + sign(SECRET, NOW, BODY)[7:], BODY, NOW, "header:x-tvarit-signature"),
    ],
)
def test_bad_requests_are_rejected_naming_the_header(
    timestamp: str | None, signature: str | None, body: bytes, now: int, loc: str
) -> None:
    with pytest.raises(AuthenticationError) as err:
        verify(SECRET, timestamp, signature, body, now=now)
    assert [p.loc for p in err.value.problems] == [loc]


def test_an_unconfigured_secret_refuses_everything() -> None:
    with pytest.raises(AuthenticationError):
        verify("", str(NOW), sign("", NOW, BODY), BODY, now=NOW)
