"""The shared HTTP transport against the recording server on 127.0.0.1: what goes on the
wire (method, path, Content-Type, Content-Encoding, basic auth, extra headers), what comes
back, and how each failure is classified by the core's one ``is_retryable``."""

from __future__ import annotations

import asyncio
import gzip
import socket
import ssl
from pathlib import Path

import pytest

from logtide.agent.core.common_options import COMMON_OUTPUT_OPTIONS
from logtide.agent.core.errors import ConfigError, PluginError, is_retryable
from logtide.agent.core.options import Entry, resolve
from logtide.sinks.http import HttpError, HttpTransport, HttpTransportSettings, transport_options
from tests.support.fake_kube_api import TlsFiles, make_tls
from tests.support.http_sink import HttpSink
from tests.support.plugins import LOCATION

TABLE = (*COMMON_OUTPUT_OPTIONS, *transport_options(default_port=80))


def settings(**options: object) -> HttpTransportSettings:
    entries = [Entry("Name", "http", LOCATION)]
    entries += [Entry(k.replace("__", "."), str(v), LOCATION) for k, v in options.items()]
    return HttpTransportSettings.bind(resolve("output 'http'", TABLE, entries, LOCATION))


@pytest.fixture
async def sink() -> HttpSink:  # type: ignore[misc]
    server = await HttpSink().start()
    yield server
    await server.stop()


async def send(config: HttpTransportSettings, body: bytes = b"{}", **kwargs: object):  # type: ignore[no-untyped-def]
    transport = HttpTransport(config)
    await transport.start()
    try:
        return await transport.send("/in", body, **kwargs)  # type: ignore[arg-type]
    finally:
        await transport.close()


async def test_request_carries_body_type_auth_and_extra_headers(sink: HttpSink) -> None:
    config = settings(Port=sink.port, http_User="u", http_Passwd="p", compress="gzip")
    answer = await send(
        config,
        b'{"a":1}',
        content_type="application/json",
        headers=[("X-A", "1"), ("X-A", "2")],
    )
    assert answer.status == 200 and answer.body == b"status 200"
    [got] = sink.requests
    assert (got.method, got.path) == ("POST", "/in")
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["Content-Encoding"] == "gzip"
    assert got.headers["Authorization"] == "Basic dTpw"
    assert got.headers.getall("X-A") == ["1", "2"]
    assert gzip.decompress(got.raw) == got.body == b'{"a":1}'


async def test_unique_headers_replace_earlier_ones(sink: HttpSink) -> None:
    await send(settings(Port=sink.port), headers=[("X-A", "1"), ("X-A", "2")], unique_headers=True)
    assert sink.requests[0].headers.getall("X-A") == ["2"]


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        (500, True),
        (503, True),
        (429, True),
        (408, True),
        (400, False),
        (401, True),
        (403, True),
        (404, False),
        (302, True),
    ],
)
async def test_refused_answers_raise_and_are_classified(
    sink: HttpSink, status: int, retryable: bool
) -> None:
    sink.statuses = [status]
    sink.answer_body = b"mapper   parsing\nfailed"
    with pytest.raises(HttpError) as caught:
        await send(settings(Port=sink.port))
    assert caught.value.status == status
    assert is_retryable(caught.value) is retryable
    assert str(caught.value) == (
        f"127.0.0.1:{sink.port}/in: HTTP status={status}: mapper parsing failed"
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_refused_connection_is_one_retryable_line() -> None:
    port = free_port()
    with pytest.raises(HttpError) as caught:
        await send(settings(Port=port))
    assert caught.value.status is None and is_retryable(caught.value)
    message = str(caught.value)
    assert message.startswith(f"127.0.0.1:{port}: cannot connect: ") and "\n" not in message


async def test_tls_with_ca_file_then_verify_off(tmp_path: Path) -> None:
    files: TlsFiles = make_tls(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(files.cert_file, files.key_file)
    sink = await HttpSink(ssl_context=server_ctx).start()
    try:
        base = {"Port": sink.port, "tls": "On"}
        with pytest.raises(HttpError) as caught:
            await send(settings(**base))
        assert "TLS certificate not accepted" in str(caught.value)
        assert is_retryable(caught.value)
        ok = await send(settings(**base, tls__ca_file=files.ca_file, tls__verify_hostname="On"))
        assert ok.status == 200
        assert (await send(settings(**base, tls__verify="Off"))).status == 200
        assert len(sink.requests) == 2
    finally:
        await sink.stop()


async def test_unreadable_tls_file_is_one_plugin_error(tmp_path: Path) -> None:
    transport = HttpTransport(settings(tls="On", tls__ca_file=tmp_path / "missing.pem"))
    with pytest.raises(PluginError, match=r"cannot load the TLS files \(.*missing.pem\)"):
        await transport.start()


def test_bad_proxy_and_port_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="proxy must look like http://host:port"):
        settings(proxy="socks5://x:1")
    with pytest.raises(ConfigError, match="Port must be 1-65535"):
        settings(Port=0)
    with pytest.raises(ConfigError, match="expected one of gzip, snappy, zstd"):
        settings(compress="brotli")


async def test_a_kept_alive_connection_closed_by_the_server_is_resent_once() -> None:
    """A server that answers the first request of each connection and closes it without an
    answer on the second: the second send finds its pooled connection dead, and the
    transport sends it again at once on a new one."""
    connections: list[int] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(0)
        for served in range(2):
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
            if served == 1:
                break
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport = HttpTransport(settings(Port=port))
    await transport.start()
    try:
        assert (await transport.send("/a", b"1")).body == b"ok"
        assert (await transport.send("/a", b"2")).body == b"ok"
    finally:
        await transport.close()
        server.close()
    assert len(connections) == 2


async def test_proxy_receives_the_request_for_the_host(sink: HttpSink) -> None:
    """With ``proxy`` the request goes to the proxy (here the recording server), naming the
    real host, where nothing listens."""
    target = free_port()
    await send(settings(Port=target, proxy=f"http://127.0.0.1:{sink.port}"))
    [got] = sink.requests
    assert got.path == "/in" and got.headers["Host"] == f"127.0.0.1:{target}"


async def test_tls_vhost_is_the_name_checked_and_the_host_header(tmp_path: Path) -> None:
    files: TlsFiles = make_tls(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(files.cert_file, files.key_file)
    sink = await HttpSink(ssl_context=server_ctx).start()
    strict = {
        "Port": sink.port,
        "tls": "On",
        "tls__ca_file": files.ca_file,
        "tls__verify_hostname": "On",
    }
    try:
        await send(settings(**strict, tls__vhost="kubernetes.default.svc"))
        assert sink.requests[0].headers["Host"] == "kubernetes.default.svc"
        with pytest.raises(HttpError, match="TLS certificate not accepted"):
            await send(settings(**strict, tls__vhost="other.example"))
        # Off, as in Fluent Bit: the chain is checked, the name is not.
        lenient = {**strict, "tls__verify_hostname": "Off"}
        assert (await send(settings(**lenient, tls__vhost="other.example"))).status == 200
    finally:
        await sink.stop()
