"""The ``http`` output run by the real engine in-process (``Pipeline``) against the recording
server on 127.0.0.1 (``tests/support/http_sink.py``), which checks what Fluent Bit documents
for ``out_http``: the method and URI, the headers (Content-Type per format, gzip
Content-Encoding, basic auth, ``Header``, ``header_tag``), each format's body, and that a
batch counts as delivered only on a 2xx: 5xx/429 are retried, 400 drops the batch with one
error line, a server that is down then up gets everything."""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import struct
from pathlib import Path

import msgpack
import pytest

from logtide import Pipeline
from logtide.agent.core.errors import ConfigError, PluginError
from tests.support.fake_kube_api import make_tls
from tests.support.http_sink import HttpSink, Received

T = 1700000000.25
RECORDS = [{"short_message": "one", "n": 1}, {"short_message": "two", "n": 2}]


def config(port: int, **options: str | list[str]) -> str:
    lines = [
        "[SERVICE]",
        "    Flush 0.1",
        "    scheduler.base 0.05",
        "    scheduler.cap 0.2",
        "[OUTPUT]",
        "    Name http",
        "    Match *",
        f"    Port {port}",
    ]
    for key, value in options.items():
        for one in value if isinstance(value, list) else [value]:
            lines.append(f"    {key.replace('__', '.')} {one}")
    return "\n".join(lines) + "\n"


async def run(port: int, records: list[dict[str, object]] = RECORDS, **options: str | list[str]):  # type: ignore[no-untyped-def]
    pipeline = Pipeline.from_string(config(port, **options))
    async with pipeline.running() as running:
        running.push("app.log", records, time=T)
    return running


@pytest.fixture
async def sink() -> HttpSink:  # type: ignore[misc]
    server = await HttpSink().start()
    yield server
    await server.stop()


def only(sink: HttpSink) -> Received:
    [request] = sink.requests
    return request


async def test_json_default_posts_one_array_with_date_first(sink: HttpSink) -> None:
    await run(sink.port, URI="logs/in")
    got = only(sink)
    assert (got.method, got.path) == ("POST", "/logs/in")
    assert got.headers["Content-Type"] == "application/json"
    assert "Content-Encoding" not in got.headers
    assert json.loads(got.body) == [{"date": T, **r} for r in RECORDS]
    assert got.body.startswith(b'[{"date":1700000000.25,')


@pytest.mark.parametrize(
    ("fmt", "content_type", "expected"),
    [
        (
            "json_lines",
            "application/x-ndjson",
            b'{"t":"2023-11-14T22:13:20.250000Z","short_message":"one","n":1}\n'
            b'{"t":"2023-11-14T22:13:20.250000Z","short_message":"two","n":2}\n',
        ),
        (
            "json_stream",
            "application/json",
            b'{"t":"2023-11-14T22:13:20.250000Z","short_message":"one","n":1}'
            b'{"t":"2023-11-14T22:13:20.250000Z","short_message":"two","n":2}',
        ),
        (
            "gelf",
            "application/json",
            b'{"version":"1.1", "short_message":"one", "_n":1, "timestamp":1700000000.250}\n'
            b'{"version":"1.1", "short_message":"two", "_n":2, "timestamp":1700000000.250}\n',
        ),
    ],
)
async def test_text_formats_body_and_content_type(
    sink: HttpSink, fmt: str, content_type: str, expected: bytes
) -> None:
    await run(sink.port, Format=fmt, json_date_key="t", json_date_format="iso8601")
    got = only(sink)
    assert got.headers["Content-Type"] == content_type
    assert got.body == expected


async def test_msgpack_is_fluent_bits_event_format(sink: HttpSink) -> None:
    await run(sink.port, Format="msgpack")
    got = only(sink)
    assert got.headers["Content-Type"] == "application/msgpack"
    unpacker = msgpack.Unpacker(raw=False)
    unpacker.feed(got.body)
    events = list(unpacker)
    assert [record for _, record in events] == RECORDS
    for (stamp, metadata), _ in events:
        assert metadata == {}
        assert stamp.code == 0 and struct.unpack(">II", stamp.data) == (1700000000, 250000000)


@pytest.mark.parametrize(
    ("fmt", "value"),
    [
        ("double", 1700000000.25),
        ("epoch", 1700000000),
        ("epoch_millis", 1700000000250),
        ("java_sql_timestamp", "2023-11-14 22:13:20.250000"),
    ],
)
async def test_json_date_formats(sink: HttpSink, fmt: str, value: object) -> None:
    await run(sink.port, json_date_format=fmt)
    assert json.loads(only(sink).body)[0]["date"] == value


async def test_json_date_key_false_leaves_the_time_out(sink: HttpSink) -> None:
    await run(sink.port, json_date_key="false")
    assert json.loads(only(sink).body) == RECORDS


async def test_headers_auth_tag_gzip_and_put(sink: HttpSink) -> None:
    await run(
        sink.port,
        http_method="PUT",
        compress="gzip",
        http_User="fluent",
        http_Passwd="s3cret",
        header_tag="X-Tag",
        Header=["X-Key one", "X-Key two", "X-Other  spaced value"],
    )
    got = only(sink)
    assert got.method == "PUT"
    assert got.headers["Content-Encoding"] == "gzip" and got.raw != got.body
    assert got.headers["Authorization"] == "Basic Zmx1ZW50OnMzY3JldA=="
    assert got.headers["X-Tag"] == "app.log"
    assert got.headers.getall("X-Key") == ["one", "two"]
    assert got.headers["X-Other"] == "spaced value"
    assert len(json.loads(got.body)) == 2


async def test_duplicated_headers_off_keeps_the_last(sink: HttpSink) -> None:
    await run(sink.port, allow_duplicated_headers="Off", Header=["X-Key one", "X-Key two"])
    assert only(sink).headers.getall("X-Key") == ["two"]


async def test_5xx_and_429_are_retried_and_delivered_once(sink: HttpSink) -> None:
    sink.statuses = [503, 429, 500]
    running = await run(sink.port)
    assert [r.status for r in sink.requests] == [503, 429, 500, 200]
    assert len(sink.accepted()) == 1
    assert json.loads(sink.accepted()[0].body) == [{"date": T, **r} for r in RECORDS]
    out = running.metrics()["http.0"]
    assert out["retries"] == 3 and out["proc_records"] == 2
    assert out.get("dropped_records", 0) == 0


async def test_auth_errors_are_retried_not_dropped(sink: HttpSink) -> None:
    """401/403 are the receiver's or the config's state, not the batch's: retried."""
    sink.statuses = [401, 403]
    running = await run(sink.port)
    assert [r.status for r in sink.requests] == [401, 403, 200]
    assert running.metrics()["http.0"].get("dropped_records", 0) == 0


async def test_400_drops_the_batch_with_one_line(
    sink: HttpSink, caplog: pytest.LogCaptureFixture
) -> None:
    sink.statuses = [400]
    sink.answer_body = b'{"error": "bad\nrequest"}'
    with caplog.at_level(logging.WARNING):
        running = await run(sink.port)
    assert [r.status for r in sink.requests] == [400]
    out = running.metrics()["http.0"]
    assert out["dropped_records"] == 2 and out.get("retries", 0) == 0
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert lines == [
        f"[output:http.0] 2 records of tag app.log not delivered: permanent failure: "
        f'127.0.0.1:{sink.port}/: HTTP status=400: {{"error": "bad request"}}'
    ]


async def test_log_response_payload_off_keeps_the_answer_out(
    sink: HttpSink, caplog: pytest.LogCaptureFixture
) -> None:
    sink.statuses = [404]
    sink.answer_body = b"secret detail"
    await run(sink.port, log_response_payload="Off")
    assert "secret" not in caplog.text and "HTTP status=404" in caplog.text


async def test_server_down_then_up_loses_nothing() -> None:
    sink = HttpSink()
    # Reserve a port, then leave it closed: connections are refused until the sink starts.
    await sink.start()
    port = sink.port
    await sink.stop()
    pipeline = Pipeline.from_string(config(port, Retry_Limit="no_limits"))
    async with pipeline.running() as running:
        running.push("app.log", RECORDS, time=T)
        await asyncio.sleep(1.0)
        assert running.metrics()["http.0"]["retries"] >= 2
        sink.port = port
        await sink.start()
    try:
        assert len(sink.accepted()) == 1
        assert json.loads(sink.accepted()[0].body) == [{"date": T, **r} for r in RECORDS]
    finally:
        await sink.stop()


async def test_gelf_record_without_short_message_is_left_out_with_one_line(
    sink: HttpSink, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        running = await run(sink.port, [{"msg": "x"}, *RECORDS], Format="gelf")
    assert only(sink).body.count(b"\n") == 2
    assert running.metrics()["http.0"]["dropped_unencodable"] == 1
    [line] = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert "1 record(s) not sent, they have no gelf form" in line


async def test_body_key_sends_one_request_per_record(sink: HttpSink) -> None:
    records: list[dict[str, object]] = [
        {"body": "raw one", "hdrs": {"X-A": "1", "Content-Type": "text/plain"}},
        {"body": "raw two", "hdrs": {"X-A": "2"}},
        {"nobody": 1},
    ]
    await run(sink.port, records, body_key="$body", headers_key="$hdrs")
    assert [(r.body, r.headers["X-A"]) for r in sink.requests] == [
        (b"raw one", "1"),
        (b"raw two", "2"),
    ]
    assert sink.requests[0].headers["Content-Type"] == "text/plain"


async def test_tls_failure_is_retried_with_a_clear_line_and_verify_off_delivers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    files = make_tls(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(files.cert_file, files.key_file)
    sink = await HttpSink(ssl_context=server_ctx).start()
    try:
        with caplog.at_level(logging.WARNING):
            running = await run(sink.port, tls="On", Retry_Limit="1")
        assert sink.requests == []
        assert running.metrics()["http.0"]["dropped_records"] == 2
        lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(lines) == 2 and all("TLS certificate not accepted" in x for x in lines)
        await run(sink.port, tls="On", tls__verify="Off")
        await run(sink.port, tls="On", tls__ca_file=str(files.ca_file))
        assert len(sink.accepted()) == 2
    finally:
        await sink.stop()


async def test_unreadable_tls_file_stops_the_start_with_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "ca.pem"
    pipeline = Pipeline.from_string(config(9, tls="On", tls__ca_file=str(missing)))
    with pytest.raises(PluginError) as caught:
        async with pipeline.running():
            pass
    assert str(caught.value) == (
        f"<string>:5: http: cannot load the TLS files ({missing}): No such file or directory"
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"aws_auth": "On"}, "aws_auth is not supported"),
        ({"Header": "X-Only"}, "Header needs a name and a value"),
        ({"body_key": "$b"}, "body_key and headers_key go together"),
        ({"Format": "xml"}, "expected one of json, json_lines"),
        ({"compress": "lz4"}, "expected one of gzip, snappy, zstd"),
    ],
)
def test_config_errors_are_one_line(options: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Pipeline.from_string(config(8080, **options))
