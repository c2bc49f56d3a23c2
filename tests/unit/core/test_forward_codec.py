"""The Forward protocol codec: the four modes, EventTime, the option map, acks, the
handshake's digests and reading messages off a stream."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import struct
import tracemalloc

import msgpack
import pytest
from fluent.sender import EventTime

from logtide.agent.core.events import Event
from logtide.agent.core.forward import codec, handshake
from logtide.agent.core.forward.codec import ProtocolError, decode, encode
from logtide.agent.core.forward.stream import MessageReader

EVENTS: list[Event] = [
    (1700000000.25, {"log": "a", "n": 1}),
    (1700000001.5, {"log": "b", "nested": {"k": [1, 2]}}),
]


def _roundtrip(data: bytes) -> codec.Incoming:
    stream = codec.unpacker(1 << 20)
    stream.feed(data)
    return decode(next(stream))


@pytest.mark.parametrize("mode", ["forward", "packed", "compressed"])
def test_every_batch_mode_round_trips_events_tag_and_chunk(mode: codec.Mode) -> None:
    got = _roundtrip(encode("app.x", EVENTS, mode, chunk="c1"))
    assert got.tag == "app.x"
    assert got.chunk == "c1"
    assert got.events == EVENTS


def test_message_mode_carries_one_event_and_refuses_more() -> None:
    got = _roundtrip(encode("t", EVENTS[:1], "message"))
    assert got.events == EVENTS[:1] and got.chunk is None
    with pytest.raises(ValueError):
        encode("t", EVENTS, "message")


def test_event_time_is_ext_type_0_seconds_and_nanoseconds_both_ways() -> None:
    ext = codec.event_time(1700000000.123456789)
    assert ext.code == 0
    seconds, nanos = struct.unpack(">II", ext.data)
    assert seconds == 1700000000 and abs(nanos - 123456789) < 1000
    # fluent-logger's own EventTime decodes to the same instant
    packed = msgpack.packb(["t", EventTime(1700000000.5), {"a": 1}])
    assert _roundtrip(packed).events == [(1700000000.5, {"a": 1})]


def test_integer_times_and_fluent_bit_metadata_entries_are_read() -> None:
    entries = [[1700000000, {"a": 1}], [[EventTime(1700000002.0), {"meta": 1}], {"b": 2}]]
    got = decode(msgpack.unpackb(msgpack.packb(["t", entries]), ext_hook=codec._ext_hook))
    assert got.events == [(1700000000.0, {"a": 1}), (1700000002.0, {"b": 2})]
    as_int = _roundtrip(encode("t", EVENTS, "forward", time_as_integer=True))
    assert [t for t, _ in as_int.events] == [1700000000.0, 1700000001.0]


def test_concatenated_gzip_members_are_one_stream() -> None:
    first = gzip.compress(codec.pack_entries(EVENTS[:1]))
    second = gzip.compress(codec.pack_entries(EVENTS[1:]))
    message = msgpack.packb(["t", first + second, {"compressed": "gzip", "size": 2}])
    assert _roundtrip(message).events == EVENTS


def test_packed_entries_sent_as_a_string_are_read_byte_for_byte() -> None:
    entries = codec.pack_entries(EVENTS)
    message = msgpack.packb(["t", entries], use_bin_type=False)  # old senders: raw string
    assert _roundtrip(message).events == EVENTS


def test_integers_beyond_64_bits_are_sent_as_text_not_dropped() -> None:
    got = _roundtrip(encode("t", [(1.0, {"big": 2**70, "ok": 5})]))
    assert got.events == [(1.0, {"big": str(2**70), "ok": 5})]


@pytest.mark.parametrize(
    "message, reason",
    [
        ({"not": "an array"}, "array"),
        (["t"], "array"),
        ([1, []], "tag"),
        (["t", [[1, "not a map"]]], "record"),
        (["t", [["when", {}]]], "time"),
        (["t", [[1, {}]], "option"], "option"),
        (["t", b"\xc1garbage"], "msgpack"),
        (["t", b"not gzip", {"compressed": "gzip"}], "gzip"),
        (["t", b"", {"compressed": "lz4"}], "compression"),
        (["t", 1, {}, {}, 5], "Message"),
        (["t", [], {"chunk": 5}], "chunk"),
    ],
)
def test_malformed_messages_raise_protocol_error_with_a_reason(
    message: object, reason: str
) -> None:
    with pytest.raises(ProtocolError, match=reason):
        decode(msgpack.unpackb(msgpack.packb(message), raw=False))


def test_ack_answer_round_trips_and_a_wrong_shape_is_refused() -> None:
    assert codec.read_ack(msgpack.unpackb(codec.ack_for("abc"))) == "abc"
    with pytest.raises(ProtocolError):
        codec.read_ack({"nack": "abc"})
    assert len({codec.new_chunk_id() for _ in range(100)}) == 100


def test_handshake_digests_are_salted_sha512_as_the_spec_says() -> None:
    helo = handshake.new_helo(users=True)
    client = handshake.Client("edge-1", "s3cret", "alice", "pw")
    salt = b"0123456789abcdef"
    ping = handshake.read_ping(msgpack.unpackb(client.ping(helo, salt), raw=False))
    assert ping.digest == hashlib.sha512(salt + b"edge-1" + helo.nonce + b"s3cret").hexdigest()
    assert ping.password_digest == hashlib.sha512(helo.auth + b"alicepw").hexdigest()
    assert handshake.check_ping(ping, helo, "s3cret", {"alice": "pw"}) is None
    assert handshake.check_ping(ping, helo, "other", {}) == "shared_key mismatch"
    assert handshake.check_ping(ping, helo, "s3cret", {"alice": "no"}) is not None
    pong = msgpack.unpackb(handshake.pong_message(ping, helo, "s3cret", "agg", None), raw=False)
    client.check_pong(pong, helo, salt)
    forged = msgpack.unpackb(handshake.pong_message(ping, helo, "guess", "agg", None), raw=False)
    with pytest.raises(ProtocolError, match="wrong Shared_Key"):
        client.check_pong(forged, helo, salt)
    refused = msgpack.unpackb(
        handshake.pong_message(ping, helo, "s3cret", "agg", "nope"), raw=False
    )
    with pytest.raises(ProtocolError, match="refused the handshake: nope"):
        client.check_pong(refused, helo, salt)


def _reader(data: bytes) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    return reader


async def test_reader_returns_objects_and_their_sizes_then_none_at_a_clean_end() -> None:
    one, two = encode("a", EVENTS), encode("b", EVENTS[:1], "message")
    messages = MessageReader(_reader(one + two), 1 << 20, 7)
    assert decode(await messages.next()).tag == "a" and messages.last_size == len(one)
    assert decode(await messages.next()).tag == "b" and messages.last_size == len(two)
    assert await messages.next() is None


async def test_reader_refuses_a_cut_message_garbage_and_an_oversized_one() -> None:
    whole = encode("a", EVENTS)
    with pytest.raises(ProtocolError, match="middle of a message"):
        await MessageReader(_reader(whole[:-3]), 1 << 20, 1024).next()
    with pytest.raises(ProtocolError, match="not valid msgpack"):
        await MessageReader(_reader(b"\xc1\xc1\xc1"), 1 << 20, 1024).next()
    big = encode("a", [(1.0, {"log": "x" * 5000})])
    with pytest.raises(ProtocolError, match="larger than the buffer limit"):
        await MessageReader(_reader(big), 1024, 512).next()


def test_a_connection_decoder_starts_small() -> None:
    # msgpack's Unpacker allocates min(max_buffer_size, 1 MiB) up front; the forward input
    # makes one per connection, and a client that connects and leaves (a TCP probe) left the
    # agent ~20 KB of RSS each through the allocator (100 MiB after 3,000 connections).
    # The buffer still grows to any message up to the limit.
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        decoders = [codec.unpacker(6 * 1024 * 1024) for _ in range(20)]
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 20 * 256 * 1024, grown
    big = msgpack.packb(["t", [[1, {"log": "x" * 3_000_000}]]])
    decoders[0].feed(big)
    assert decoders[0].unpack()[1][0][1]["log"] == "x" * 3_000_000
