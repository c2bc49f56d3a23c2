"""The forward output over real sockets: what it sends (PackedForward, gzip, EventTime or
integer times, the option map, Tag), acks settling a flush, the handshake, TLS, a Unix
socket, and refused, reset and silent receivers giving retryable errors that resend only
what was not acknowledged."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import msgpack
import pytest

from logtide.agent.core.errors import RetryableDeliveryError, is_retryable
from logtide.agent.core.events import Event
from logtide.agent.core.forward import codec, handshake
from logtide.agent.core.forward.stream import MessageReader
from logtide.sinks.forward import ForwardOutput
from tests.support.fake_kube_api import make_tls
from tests.support.forward import address_of, serving
from tests.support.plugins import plugin_context, settings_for

EVENTS: list[Event] = [(1700000000.000123, {"log": f"line {n}", "n": n}) for n in range(4)]

# How the fake receiver answers a message: "ack", "none" (keeps silent), "wrong" (another
# chunk id), "close" (drops the connection).
Answer = Callable[[int], str]


class Receiver:
    """A raw Forward receiver recording each message as the output put it on the wire."""

    def __init__(self, answer: Answer = lambda _: "ack") -> None:
        self.answer = answer
        self.raw: list[Any] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        messages = MessageReader(reader, 1 << 24, 1 << 16)
        with contextlib.suppress(Exception):
            while (message := await messages.next()) is not None:
                self.raw.append(message)
                how = self.answer(len(self.raw))
                chunk = (message[2] if len(message) > 2 else {}).get("chunk")
                if how == "close":
                    break
                if chunk and how in ("ack", "wrong"):
                    writer.write(codec.ack_for(chunk if how == "ack" else "other"))
                    await writer.drain()
        writer.close()

    def events(self) -> list[Event]:
        return [e for m in self.raw for e in codec.decode(m).events]

    async def __aenter__(self) -> Receiver:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self.server is not None
        self.server.close()


@contextlib.asynccontextmanager
async def output(**options: Any) -> AsyncIterator[ForwardOutput]:
    options.setdefault("Retry_Limit", "no_limits")
    async with plugin_context("forward.0") as context:
        plugin = ForwardOutput(settings_for(ForwardOutput, **options), context)
        await plugin.start()
        try:
            yield plugin
        finally:
            await plugin.stop()


async def test_default_is_packed_forward_with_event_time_and_no_option_map() -> None:
    async with Receiver() as receiver, output(Port=receiver.port) as out:
        await out.flush("app", EVENTS)
        for _ in range(100):
            if receiver.raw:
                break
            await asyncio.sleep(0.02)
    (message,) = receiver.raw
    assert message[0] == "app" and isinstance(message[1], bytes) and len(message) == 2
    entries = msgpack.Unpacker()
    entries.feed(message[1])
    first_time = next(iter(entries))[0]
    assert isinstance(first_time, msgpack.ExtType) and first_time.code == 0
    assert receiver.events() == EVENTS


async def test_gzip_integer_times_options_and_tag_template() -> None:
    records: list[Event] = [(1700000000.9, {"team": "a"}), (1700000001.2, {"team": "b"})]
    async with (
        Receiver() as receiver,
        output(
            Port=receiver.port,
            Compress="gzip",
            Time_as_Integer="on",
            Send_options="on",
            Require_ack_response="on",
            Tag="team.$team",
        ) as out,
    ):
        await out.flush("app", records)
    assert sorted(m[0] for m in receiver.raw) == ["team.a", "team.b"]
    for message in receiver.raw:
        assert message[2]["compressed"] == "gzip" and message[2]["size"] == 1
    assert sorted(t for t, _ in receiver.events()) == [1700000000.0, 1700000001.0]


async def test_a_missing_ack_times_out_and_only_unacknowledged_messages_are_resent() -> None:
    big: list[Event] = [(1.0, {"log": "x" * 600_000, "n": n}) for n in range(3)]  # 3 messages
    async with (
        Receiver(lambda n: "ack" if n == 1 else "none") as receiver,
        output(Port=receiver.port, Require_ack_response="on", ack_response_timeout="0.5") as out,
    ):
        with pytest.raises(RetryableDeliveryError) as caught:
            await out.flush("app", big)
    error = caught.value
    assert "no ack of chunk" in str(error) and "within 0.5s" in str(error)
    assert is_retryable(error)
    assert [r["n"] for _, r in error.remaining or []] == [1, 2]


@pytest.mark.parametrize("how, words", [("wrong", "acknowledged chunk other"), ("close", "closed")])
async def test_a_wrong_ack_or_a_dropped_connection_is_retryable(how: str, words: str) -> None:
    async with (
        Receiver(lambda _: how) as receiver,
        output(Port=receiver.port, Require_ack_response="on") as out,
    ):
        with pytest.raises(RetryableDeliveryError, match=words) as caught:
            await out.flush("app", EVENTS)
    assert caught.value.remaining == EVENTS


async def test_connection_refused_is_one_retryable_line_then_delivery_resumes() -> None:
    async with Receiver() as receiver:
        port = receiver.port
    async with output(Port=port, Require_ack_response="on", Retry_Limit="3") as out:
        with pytest.raises(RetryableDeliveryError) as caught:
            await out.flush("app", EVENTS)
        assert str(caught.value) == f"forward 127.0.0.1:{port}: connection refused"
        receiver = Receiver()
        receiver.server = await asyncio.start_server(receiver._serve, "127.0.0.1", port)
        try:
            await out.flush("app", EVENTS)
        finally:
            receiver.server.close()
    assert receiver.events() == EVENTS


def _receiver_config(extra: str) -> str:
    return f"""\
[SERVICE]
    Flush 0.2
[INPUT]
    Name   forward
    Listen 127.0.0.1
    Port   0
{extra}
[OUTPUT]
    Name  null
    Match *
"""


async def test_handshake_users_and_tls_against_the_forward_input(tmp_path: Path) -> None:
    files = make_tls(tmp_path)
    extra = (
        f"    Shared_Key k3y\n    security.users bob pw\n    tls on\n"
        f"    tls.crt_file {files.cert_file}\n    tls.key_file {files.key_file}"
    )
    async with serving(_receiver_config(extra)) as running:
        address = await address_of(running)
        assert isinstance(address, tuple)
        common = {
            "Port": address[1],
            "tls": "on",
            "tls.ca_file": files.ca_file,
            "tls.vhost": "localhost",
            "Require_ack_response": "on",
            "Shared_Key": "k3y",
            "Username": "bob",
        }
        async with output(**common, Password="pw") as out:
            await out.flush("secure", EVENTS)
        assert len(running.output("null")) == 4
        async with output(**common, Password="wrong") as out:
            with pytest.raises(RetryableDeliveryError, match="refused the handshake"):
                await out.flush("secure", EVENTS)
        async with output(**{**common, "tls.ca_file": files.cert_file}) as out:
            with pytest.raises(RetryableDeliveryError, match="CERTIFICATE_VERIFY_FAILED"):
                await out.flush("secure", EVENTS)


async def test_unix_socket_and_a_receiver_asking_for_a_handshake_we_do_not_do(
    tmp_path: Path,
) -> None:
    path = tmp_path / "in.sock"
    async with serving(_receiver_config(f"    Unix_Path {path}")) as running:
        await address_of(running)
        async with output(Unix_Path=path, Require_ack_response="on") as out:
            await out.flush("local", EVENTS)
        assert len(running.output("null")) == 4
    async with serving(_receiver_config("    Shared_Key k")) as running:
        address = await address_of(running)
        assert isinstance(address, tuple)
        async with output(Port=address[1], Require_ack_response="on") as out:
            with pytest.raises(RetryableDeliveryError, match="set Shared_Key"):
                await out.flush("local", EVENTS)


def test_the_client_digest_matches_what_the_input_checks() -> None:
    helo = handshake.new_helo(users=False)
    ping = handshake.read_ping(
        msgpack.unpackb(handshake.Client("h", "k").ping(helo, b"s" * 16), raw=False)
    )
    assert handshake.check_ping(ping, helo, "k", {}) is None
