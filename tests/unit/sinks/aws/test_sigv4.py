"""The signer of the outputs' own requests signs as botocore's ``SigV4Auth`` does: the same
request at the same moment gets the same ``Authorization``."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from logtide.sinks.aws.sigv4 import Signer
from logtide.sinks.aws.wire import host_header

MOMENT = datetime(2026, 12, 4, 10, 15, 37, tzinfo=UTC)
HEADERS = {
    "X-Amz-Target": "Logs_20140328.PutLogEvents",
    "Content-Type": "application/x-amz-json-1.1",
}


def botocore_headers(
    credentials: Credentials, url: str, headers: dict[str, str], body: bytes, region: str
) -> dict[str, str]:
    request = AWSRequest("POST", url, data=body, headers=dict(headers))
    auth = SigV4Auth(credentials.get_frozen_credentials(), "logs", region)
    # botocore reads the clock inside add_auth; give it ours.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("botocore.auth.get_current_datetime", lambda: MOMENT.replace(tzinfo=None))
        auth.add_auth(request)
    return {k: v for k, v in request.headers.items() if k not in headers}


@pytest.mark.parametrize(
    ("url", "token", "headers"),
    [
        ("https://logs.eu-west-1.amazonaws.com/", None, HEADERS),
        ("http://127.0.0.1:4566/", "session-token", HEADERS),
        ("https://vpce-1.logs.eu-west-1.vpce.amazonaws.com:8443/prefix/", None, HEADERS),
        ("http://[::1]:4566/", None, {**HEADERS, "x-amzn-logs-format": "json/emf"}),
        ("https://logs.eu-west-1.amazonaws.com:443/", None, {**HEADERS, "X-Odd": "  a   b "}),
    ],
    ids=["aws", "token", "path-and-port", "ipv6-and-format", "default-port-and-spaces"],
)
def test_the_signature_is_botocores(url: str, token: str | None, headers: dict[str, str]) -> None:
    credentials = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    body = b'{"logGroupName":"g","logStreamName":"s","logEvents":[{"timestamp":1,"message":"m"}]}'
    expected = botocore_headers(credentials, url, headers, body, "eu-west-1")
    path = url.split("/", 3)[3]
    # In pieces, as the output sends a body: signed as the whole.
    pieces = [body[:52], body[52:-1], body[-1:]]
    signed = Signer("logs", "eu-west-1").sign(
        credentials.get_frozen_credentials(), host_header(url), f"/{path}", headers, pieces, MOMENT
    )
    assert signed == expected
    assert ("X-Amz-Security-Token" in signed) is (token is not None)


def test_the_key_follows_the_day_and_the_secret() -> None:
    """One signer reused across a new day and a rotated secret signs as a new one would."""
    reused = Signer("logs", "eu-west-1")
    host = "logs.eu-west-1.amazonaws.com"
    for secret, moment in [("s1", MOMENT), ("s1", MOMENT.replace(day=5)), ("s2", MOMENT)]:
        frozen = Credentials("AKID", secret).get_frozen_credentials()
        fresh = Signer("logs", "eu-west-1").sign(frozen, host, "/", HEADERS, [b"{}"], moment)
        assert reused.sign(frozen, host, "/", HEADERS, [b"{}"], moment) == fresh
