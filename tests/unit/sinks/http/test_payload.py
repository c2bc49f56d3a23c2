"""The http output's bodies as pure functions: GELF's rules (as Fluent Bit 5.1.1's
flb_msgpack_to_gelf writes them) and the msgpack event format's edges."""

from __future__ import annotations

import json
import struct

import msgpack
import pytest

from logtide.sinks.http.gelf import GelfError, GelfKeys, gelf_record
from logtide.sinks.http.payload import build_body, event_time, msgpack_events

KEYS = GelfKeys()


def gelf(record: dict[str, object], keys: GelfKeys = KEYS, ts: float = 1.5) -> dict[str, object]:
    return dict(json.loads(gelf_record(record, ts, keys)))


def test_keys_are_mapped_prefixed_and_cleaned_in_order() -> None:
    out = gelf_record(
        {"msg": "hi", "h": "node-1", "lvl": "warning", "id": 7, "a b/c": 1, "x.y-z": 2},
        2.0,
        GelfKeys(short_message="msg", host="h", level="lvl"),
    )
    assert out == (
        b'{"version":"1.1", "short_message":"hi", "host":"node-1", "level":4, '
        b'"_a_b_c":1, "_x.y-z":2, "timestamp":2.000}'
    )


def test_values_nulls_booleans_floats_maps_and_arrays() -> None:
    out = gelf(
        {
            "short_message": "m",
            "none": None,
            "ok": True,
            "ratio": 0.25,
            "k8s": {"pod": "p", "labels": {"app": "web"}, "gone": None},
            "tags": ["a", 1, {"k": "v"}],
        }
    )
    assert out == {
        "version": "1.1",
        "short_message": "m",
        "_ok": "true",
        "_ratio": 0.25,
        "_k8s_pod": "p",
        "_k8s_labels_app": "web",
        "_tags": "a, 1, k=v",
        "timestamp": 1.5,
    }
    assert b'"_ratio":0.250000' in gelf_record({"short_message": "m", "ratio": 0.25}, 0, KEYS)


def test_first_occurrence_of_a_mapped_key_wins_and_timestamp_key_is_kept() -> None:
    out = gelf({"short_message": "m", "t": 99.5}, GelfKeys(timestamp="t"))
    assert out["timestamp"] == 99.5


@pytest.mark.parametrize(("level", "expected"), [(3, 3), ("5", 5), ("ERR", 3), ("loud", "loud")])
def test_level_numbers_and_syslog_keywords(level: object, expected: object) -> None:
    assert gelf({"short_message": "m", "level": level})["level"] == expected


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"message": "no short one"}, "no short message key"),
        ({"short_message": "m", "level": 1.5}, "level must be"),
        ({"short_message": "m", "level": -1}, "level must be"),
    ],
)
def test_records_without_a_gelf_form(record: dict[str, object], reason: str) -> None:
    with pytest.raises(GelfError, match=reason):
        gelf_record(record, 0.0, KEYS)


def test_gelf_body_leaves_out_only_the_bad_records() -> None:
    body = build_body("gelf", [(0.0, {"x": 1}), (0.0, {"short_message": "ok"})], None, "", KEYS)
    assert body.skipped == 1 and "no short message" in body.reason
    assert body.data.count(b"\n") == 1


def test_msgpack_event_time_and_odd_values() -> None:
    data = msgpack_events([(-5.0, {"big": 2**70, "s": {1}, "b": b"\xff"}), (12.5, {"n": 1})])
    unpacker = msgpack.Unpacker(raw=False)
    unpacker.feed(data)
    first, second = list(unpacker)
    assert first[1] == {"big": str(2**70), "s": [1], "b": b"\xff"}
    assert struct.unpack(">II", first[0][0].data) == (0, 0)
    assert struct.unpack(">II", second[0][0].data) == (12, 500_000_000)
    assert struct.unpack(">II", event_time(1e12).data) == (2**32 - 1, 0)
