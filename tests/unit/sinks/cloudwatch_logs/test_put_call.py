"""PutLogEvents as :class:`PutLogEventsCall` sends it, on the output's own connection and
on the client's pool: the request a botocore client would send for the same batch (URL,
target, content type, signed headers, the same JSON document), caught by a local HTTP
server; its answers read as the client reads them."""

from __future__ import annotations

import contextlib
import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError
from botocore.session import Session

from logtide.agent.companions.local_aws import free_port
from logtide.agent.core.errors import is_retryable
from logtide.sinks.aws.retry import error_code, http_status, outcome_unknown
from logtide.sinks.aws.wire import WireConnection
from logtide.sinks.cloudwatch_logs.batching import LogEvent, encode_events
from logtide.sinks.cloudwatch_logs.put_call import PutLogEventsCall
from tests.support.built_request import Built, offline_credentials, stop_before_send

# Differ between any two requests (time, signature, ids) or name the sender.
VOLATILE = {"authorization", "x-amz-date", "amz-sdk-invocation-id", "amz-sdk-request"}
SENDER = {"user-agent", "host", "accept-encoding", "connection", "content-length", "accept"}

EVENTS = [
    {"timestamp": 1764600000000, "message": '{"log":"plain","n":1}'},
    {"timestamp": 1764600000001, "message": 'quotes " and \\ backslash\tand a tab'},
    {"timestamp": 1764600000002, "message": "caf\u00e9 \u65e5\u672c \U0001f680 and a\nnewline"},
    {"timestamp": 1764600000003, "message": "control \u0001 and \u2028 separators"},
]


class Seen:
    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.answer: tuple[int, bytes] = (200, b"{}")


@pytest.fixture
def server() -> Iterator[tuple[str, Seen]]:
    """A loopback HTTP server that records each POST and gives ``seen.answer``."""
    seen = Seen()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            headers = {k.lower(): v for k, v in self.headers.items()}
            seen.requests.append((self.path, headers, body))
            status, answer = seen.answer
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *_: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    offline_credentials(monkeypatch)


@pytest.fixture(params=[True, False], ids=["own-connection", "client-pool"])
def own_connection(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@contextlib.contextmanager
def client_and_call(
    endpoint: str,
    own_connection: bool,
    log_format: str | None = None,
    signed: bool = True,
    user_agent: str = "logtide-test",
) -> Iterator[tuple[Any, PutLogEventsCall]]:
    session = Session()
    client = session.create_client(
        "logs",
        region_name="eu-west-1",
        endpoint_url=endpoint,
        config=Config(retries={"max_attempts": 0}),
    )
    wire = (
        WireConnection(endpoint, None, connect_timeout=2, read_timeout=5)
        if own_connection
        else None
    )
    credentials = session.get_credentials() if signed else None
    try:
        yield client, PutLogEventsCall(client, credentials, user_agent, log_format, wire)
    finally:
        if wire is not None:
            wire.close()
        client.close()


def stock_request(client: Any, **params: Any) -> tuple[str, dict[str, str], Any]:
    client.meta.events.register("before-send", stop_before_send)
    with pytest.raises(Built) as built:
        client.put_log_events(**params)
    request = built.value.request
    headers = {
        k.lower(): str(v, "ascii") if isinstance(v, bytes) else v
        for k, v in request.headers.items()
        if k.lower() not in VOLATILE | SENDER
    }
    return request.url, headers, json.loads(request.body)


@pytest.mark.parametrize("events", [EVENTS, EVENTS[:1]], ids=["mixed", "one"])
def test_the_request_is_the_clients_request(
    server: tuple[str, Seen], own_connection: bool, events: list[dict[str, Any]]
) -> None:
    endpoint, seen = server
    array = encode_events([LogEvent(e["timestamp"], e["message"], 0, (0.0, {})) for e in events])
    with client_and_call(endpoint, own_connection) as (client, call):
        answer = call("/aws/app", "node-a.log", array)
        again = call("/aws/app", "node-a.log", array)
        url, headers, document = stock_request(
            client, logGroupName="/aws/app", logStreamName="node-a.log", logEvents=events
        )
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200 and again == answer
    path, sent_headers, body = seen.requests[0]
    assert endpoint + path == url
    assert {k: v for k, v in sent_headers.items() if k not in VOLATILE | SENDER} == headers
    assert json.loads(body) == document
    # The journaled array goes out as it stands.
    assert array in body
    assert sent_headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=testing/")
    assert "/eu-west-1/logs/aws4_request" in sent_headers["authorization"]
    assert sent_headers["user-agent"] == "logtide-test"
    assert sent_headers["host"] == endpoint.removeprefix("http://")
    assert seen.requests[1][2] == body


def test_a_user_agent_beyond_latin1_goes_out_in_utf8(
    server: tuple[str, Seen], own_connection: bool
) -> None:
    endpoint, seen = server
    with client_and_call(endpoint, own_connection, user_agent="ci-\u65e5\u672c") as (_, call):
        call("g", "s", b"[]")
    # http.server reads header bytes as Latin-1
    assert seen.requests[0][1]["user-agent"].encode("latin-1").decode() == "ci-\u65e5\u672c"


def test_log_format_goes_out_as_its_header(server: tuple[str, Seen], own_connection: bool) -> None:
    endpoint, seen = server
    with client_and_call(endpoint, own_connection, log_format="json/emf") as (_, call):
        call("g", "s", b"[]")
    assert seen.requests[0][1]["x-amzn-logs-format"] == "json/emf"


def test_a_partial_rejection_is_read_from_the_answer(
    server: tuple[str, Seen], own_connection: bool
) -> None:
    endpoint, seen = server
    info = {"tooOldLogEventEndIndex": 1, "tooNewLogEventStartIndex": 3}
    seen.answer = (200, json.dumps({"rejectedLogEventsInfo": info}).encode())
    with client_and_call(endpoint, own_connection) as (_, call):
        assert call("g", "s", b"[]")["rejectedLogEventsInfo"] == info


@pytest.mark.parametrize(
    ("status", "body", "code", "retryable"),
    [
        (
            400,
            b'{"__type":"ResourceNotFoundException","message":"no stream"}',
            "ResourceNotFoundException",
            False,
        ),
        (
            400,
            b'{"__type":"com.amazonaws#ThrottlingException","message":"slow"}',
            "ThrottlingException",
            True,
        ),
        (
            400,
            b'{"__type":"DataAlreadyAcceptedException","message":"dup"}',
            "DataAlreadyAcceptedException",
            False,
        ),
        (503, b"", "503", True),
    ],
    ids=["not-found", "throttled", "already-accepted", "unavailable"],
)
def test_an_error_answer_raises_the_clients_error(
    server: tuple[str, Seen],
    own_connection: bool,
    status: int,
    body: bytes,
    code: str,
    retryable: bool,
) -> None:
    endpoint, seen = server
    seen.answer = (status, body)
    with (
        client_and_call(endpoint, own_connection) as (_, call),
        pytest.raises(ClientError) as raised,
    ):
        call("g", "s", b"[]")
    assert error_code(raised.value) == code
    assert http_status(raised.value) == status
    assert is_retryable(raised.value) is retryable
    assert not outcome_unknown(raised.value)


def test_a_refused_connection_is_a_request_never_sent(own_connection: bool) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    with (
        client_and_call(endpoint, own_connection) as (_, call),
        pytest.raises(EndpointConnectionError) as raised,
    ):
        call("g", "s", b"[]")
    assert is_retryable(raised.value)
    assert not outcome_unknown(raised.value)


def test_no_credentials_is_said_before_anything_is_sent(
    server: tuple[str, Seen], own_connection: bool
) -> None:
    endpoint, seen = server
    with (
        client_and_call(endpoint, own_connection, signed=False) as (_, call),
        pytest.raises(NoCredentialsError),
    ):
        call("g", "s", b"[]")
    assert not seen.requests
