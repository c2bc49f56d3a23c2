"""The forward input over real sockets: a real client (fluent-logger), the four modes, chunk
acks sent only after delivery, the shared-key handshake, a Unix socket, TLS, Tag_Prefix,
EventTime, and bad input closing only its own connection."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import ssl
import stat
from pathlib import Path

import msgpack
import pytest
from fluent import sender

from logtide.agent.api import Pipeline
from logtide.agent.cli import plugin_help
from logtide.agent.core import reclaim
from logtide.agent.core.errors import ConfigError
from logtide.agent.core.events import Event
from logtide.agent.core.forward import codec, handshake
from logtide.agent.core.forward.stream import MessageReader
from logtide.agent.inputs.forward.connection import Connection
from tests.support.fake_kube_api import make_tls
from tests.support.forward import Client, address_of, serving

EVENTS: list[Event] = [(1700000000.123456, {"log": f"line {n}", "n": n}) for n in range(3)]


NULL = "[OUTPUT]\n    Name null\n    Match *"


def config(extra: str = "", output: str = NULL) -> str:
    return f"""\
[SERVICE]
    Flush 0.2
[INPUT]
    Name   forward
    Listen 127.0.0.1
    Port   0
{extra}
{output}
"""


async def test_fluent_logger_over_tcp_with_tag_prefix_and_event_time() -> None:
    async with serving(config("    Tag_Prefix edge.")) as running:
        address = await address_of(running)
        assert isinstance(address, tuple)
        host, port = address

        def log() -> None:
            client = sender.FluentSender("app", host=host, port=port, nanosecond_precision=True)
            for n in range(5):
                assert client.emit_with_time("web", 1700000000.000001 + n, {"n": n}), (
                    client.last_error
                )
            client.close()

        await asyncio.to_thread(log)
        records = await running.output("null").wait_for(5)
        events = running.output("null").events
    assert [r["n"] for r in records] == [0, 1, 2, 3, 4]
    assert {tag for tag, _, _ in events} == {"edge.app.web"}
    # EventTime carries the microsecond an integer time would lose
    assert abs(events[0][1] - 1700000000.000001) < 1e-6


@pytest.mark.parametrize("mode", codec.MODES)
async def test_each_mode_is_accepted_and_acknowledged_after_delivery(
    mode: codec.Mode, tmp_path: Path
) -> None:
    out = (
        f"[OUTPUT]\n    Name file\n    Match *\n    Path {tmp_path}\n    File out\n    Format plain"
    )
    events = EVENTS[:1] if mode == "message" else EVENTS
    async with serving(config(output=out)) as running:
        client = await Client.connect(await address_of(running))
        await client.send(codec.encode("t", events, mode, chunk="chunk-1"))
        answer = await client.read()
        # the ack comes only once the file output has the records on disk
        assert codec.read_ack(answer) == "chunk-1"
        lines = (tmp_path / "out").read_text().splitlines()
        await client.close()
    assert len(lines) == len(events)


async def test_without_chunk_nothing_is_answered_and_events_still_arrive() -> None:
    async with serving(config()) as running:
        client = await Client.connect(await address_of(running))
        await client.send(codec.encode("t", EVENTS, "forward"))
        await running.output("null").wait_for(3)
        with pytest.raises(TimeoutError):
            await client.read(timeout=0.5)
        await client.close()


async def test_undelivered_chunk_is_never_acknowledged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = tmp_path / "no-such-folder"
    out = f"[OUTPUT]\n    Name file\n    Match *\n    Path {missing}\n    Retry_Limit 0"
    async with serving(config(output=out)) as running:
        client = await Client.connect(await address_of(running))
        await client.send(codec.encode("t", EVENTS, chunk="lost"))
        assert await client.closed(), "the connection should close without an ack"
    assert "chunk lost was not delivered" in caplog.text


async def test_shared_key_handshake_admits_the_right_key_and_refuses_a_wrong_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    extra = "    Shared_Key s3cret\n    Self_Hostname aggregator\n    security.users alice pw"
    async with serving(config(extra)) as running:
        address = await address_of(running)
        good = handshake.Client("edge", "s3cret", "alice", "pw")
        client = await Client.connect(address, login=good)
        await client.send(codec.encode("t", EVENTS, chunk="k"))
        assert codec.read_ack(await client.read()) == "k"
        await client.close()
        with pytest.raises(codec.ProtocolError, match="shared_key mismatch"):
            await Client.connect(address, login=handshake.Client("edge", "wrong", "alice", "pw"))
        with pytest.raises(codec.ProtocolError, match="username/password"):
            await Client.connect(address, login=handshake.Client("edge", "s3cret", "alice", "x"))
        # a client that skips the handshake and sends events is refused too
        rude = await Client.connect(address)
        await rude.read()  # HELO
        await rude.send(codec.encode("t", EVENTS))
        assert await rude.closed()
        assert len(running.output("null")) == 3
    assert caplog.text.count("handshake refused") == 2


async def test_unix_socket_with_its_permissions(tmp_path: Path) -> None:
    path = tmp_path / "fwd.sock"
    async with serving(config(f"    Unix_Path {path}\n    Unix_Perm 0600")) as running:
        address = await address_of(running)
        assert address == str(path)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        client = await Client.connect(address)
        await client.send(codec.encode("t", EVENTS, "compressed", chunk="u"))
        assert codec.read_ack(await client.read()) == "u"
        await client.close()
    assert not path.exists()


async def test_tls_serves_a_verifying_client_and_refuses_plain_text(tmp_path: Path) -> None:
    files = make_tls(tmp_path)
    extra = f"    tls on\n    tls.crt_file {files.cert_file}\n    tls.key_file {files.key_file}"
    async with serving(config(extra)) as running:
        address = await address_of(running)
        context = ssl.create_default_context(cafile=str(files.ca_file))
        client = await Client.connect(address, context=context)
        await client.send(codec.encode("t", EVENTS, chunk="tls"))
        assert codec.read_ack(await client.read()) == "tls"
        await client.close()
        plain = await Client.connect(address)
        await plain.send(codec.encode("t", EVENTS))
        assert await plain.closed()
        assert len(running.output("null")) == 3


@pytest.mark.parametrize(
    "payload, reason",
    [
        (b"\xc1\xc1\xc1", "not valid msgpack: FormatError at byte 0"),
        (msgpack.packb({"tag": "t"}), "must be an array"),
        (msgpack.packb(["t", [[1, "text"]]]), "record must be a map"),
        # Valid msgpack, but a key Python cannot hold in a dict: the connection's task failed
        # with "unhandled errors in a TaskGroup" and no reason.
        (msgpack.packb(["t", [[1, {(1, 2): "v"}]]]), "a map key that is an array or a map"),
        (msgpack.packb(["t", b"x" * 2000]), "larger than the buffer limit"),
    ],
)
async def test_bad_input_is_one_warning_closes_only_its_connection(
    payload: bytes, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with serving(config("    Buffer_Max_Size 1k\n    Buffer_Chunk_Size 512")) as running:
        address = await address_of(running)
        bystander = await Client.connect(address)
        bad = await Client.connect(address)
        await bad.send(payload)
        assert await bad.closed()
        await bystander.send(codec.encode("t", EVENTS, chunk="fine"))
        assert codec.read_ack(await bystander.read()) == "fine"
        await bystander.close()
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert (
        reason in warnings[0].getMessage() and "closing the connection" in warnings[0].getMessage()
    )
    assert "Traceback" not in caplog.text


async def test_connections_that_ended_leave_nothing_on_a_quiet_input() -> None:
    # The agent runs the cyclic collector rarely (records do not need it). A connection
    # cut mid-message left cycles holding its decoder and buffers, and with nothing else
    # allocating they waited for thousands more connections: ~20 KB of RSS each. The next
    # connection's arrival collects them. (Logging is off: a captured warning would keep
    # its exception, and with it the connection, alive.)
    gc.collect()
    gc.disable()
    logging.disable(logging.CRITICAL)
    try:
        async with serving(config()) as running:
            address = await address_of(running)
            for _ in range(20):
                client = await Client.connect(address)
                await client.send(b"\x93\xa1t")  # cut in the middle of a message
                await client.close()
            await asyncio.sleep(2 * reclaim.MIN_INTERVAL)
            last = await Client.connect(address)
            await asyncio.sleep(0.2)
            left = sum(isinstance(o, Connection) for o in gc.get_objects())
            await last.close()
    finally:
        logging.disable(logging.NOTSET)
        gc.enable()
    assert left == 1, f"{left} connections held (the one still open is 1)"


@pytest.mark.parametrize(
    "kind, options, message",
    [
        ("input", {"security.users": "alice pw"}, "needs Shared_Key or Empty_Shared_Key"),
        ("input", {"Shared_Key": "k", "security.users": "alice"}, "'username password'"),
        ("input", {"Unix_Path": "/tmp/x.sock", "Unix_Perm": "rw"}, "not an octal mode"),
        ("input", {"tls": "on", "tls.crt_file": "c.pem"}, "needs tls.crt_file and tls.key_file"),
        ("output", {"Compress": "lz4"}, "Compress 'lz4' is not supported"),
        ("output", {"Upstream": "nodes.conf"}, "unknown option 'Upstream'"),
    ],
)
def test_option_mistakes_are_config_errors(
    kind: str, options: dict[str, str], message: str
) -> None:
    lines = "".join(f"    {key} {value}\n" for key, value in options.items())
    section = "INPUT" if kind == "input" else "OUTPUT"
    text = f"[{section}]\n    Name forward\n{lines}"
    text += "[OUTPUT]\n    Name null\n    Match *\n" if kind == "input" else ""
    with pytest.raises(ConfigError, match=message):
        Pipeline.from_string(text)


def test_help_for_forward_shows_the_input_and_the_output() -> None:
    text = plugin_help("forward")
    assert "input plugin 'forward'" in text and "output plugin 'forward'" in text
    assert "output plugin" not in plugin_help("forward", "input")


async def test_mem_buf_limit_stops_reading_until_delivery_catches_up() -> None:
    release = asyncio.Event()

    async def downstream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """A receiver that acknowledges nothing until released."""
        messages = MessageReader(reader, 1 << 20, 1 << 16)
        while (message := await messages.next()) is not None:
            await release.wait()
            writer.write(codec.ack_for(message[2]["chunk"]))
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(downstream, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    out = (
        f"[OUTPUT]\n    Name forward\n    Match *\n    Host 127.0.0.1\n    Port {port}\n"
        "    Require_ack_response on"
    )
    big: list[Event] = [(1.0, {"log": "x" * 1500})]
    try:
        async with serving(config("    Mem_Buf_Limit 1k", out)) as running:
            try:
                client = await Client.connect(await address_of(running))
                for n in range(3):
                    await client.send(codec.encode("t", big, chunk=f"c{n}"))
                await asyncio.sleep(1.0)
                # the output holds the first chunk unacknowledged: the input reads no further
                held = running.metrics()["forward.0"]["records"]
            finally:
                release.set()
            acks = [codec.read_ack(await client.read()) for _ in range(3)]
            await client.close()
    finally:
        server.close()
    assert held == 1
    assert acks == ["c0", "c1", "c2"]
