"""s3_key_format rendering: Fluent Bit's tokens, record fields, safe encoding."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logtide.sinks.s3.keys import DEFAULT_PARTITION, KeyFormat, KeyFormatError, encode_value

T0 = 1795744014.715089  # 2026-11-27T01:46:54Z


def test_default_format_as_fluent_bit() -> None:
    kf = KeyFormat("/fluent-bit-logs/$TAG/%Y/%m/%d/%H/%M/%S")
    key = kf.render("states.ca", (), T0, suffix="-objectAbCd1234")
    assert key == "fluent-bit-logs/states.ca/2026/11/27/01/46/54-objectAbCd1234"


def test_tag_parts_index_and_uuid() -> None:
    kf = KeyFormat("/$TAG[0]/$TAG[2]/$TAG[9]/$INDEX-$UUID", "._")
    assert kf.has_index and kf.has_uuid
    assert kf.render("kube.var_log", (), T0, index=7, uuid8="Zz9") == "kube/log//7-Zz9"


def test_strftime_is_not_applied_to_substituted_values() -> None:
    kf = KeyFormat("/x/$TAG/${k}/%Y")
    assert kf.render("a%Yb", kf.group({"k": "%m"}), T0) == "x/a%25Yb/%25m/2026"


def test_nested_fields_and_missing_values() -> None:
    kf = KeyFormat("""/l/${a['b']["c"]}/${top}/${a['x']}""")
    assert kf.group({"a": {"b": {"c": 5}}, "top": True}) == ("5", "true", DEFAULT_PARTITION)
    assert kf.group({"a": "scalar"}) == (DEFAULT_PARTITION,) * 3


def test_record_accessor_spelling_survives_config_expansion() -> None:
    kf = KeyFormat("/l/state=$state/zone=$geo['zone']/$TAG_$INDEX_$UUID")
    assert kf.group({"state": "CA", "geo": {"zone": "w"}}) == ("CA", "w")
    key = kf.render("t", ("CA", "w"), T0, index=3, uuid8="u")
    assert key == "l/state=CA/zone=w/t_3_u"


def test_repeated_placeholder_is_one_group_value() -> None:
    kf = KeyFormat("/${s}/${s}")
    assert kf.group({"s": "CA"}) == ("CA",)
    assert kf.render("t", ("CA",), T0) == "CA/CA"


@pytest.mark.parametrize("bad", ["/x/${}", "/x/${a['b'}", "/x/${a", "/x/$TAG[10]"])
def test_malformed_formats(bad: str) -> None:
    with pytest.raises(KeyFormatError):
        KeyFormat(bad)


def test_long_keys_are_cut_to_1024_bytes_keeping_the_suffix() -> None:
    kf = KeyFormat("/" + "a" * 2000)
    key = kf.render("t", (), T0, suffix="-objectABCDEFGH")
    assert len(key.encode()) == 1024 and key.endswith("-objectABCDEFGH")


@given(st.text(max_size=40))
def test_encoded_values_stay_in_one_harmless_segment(value: str) -> None:
    encoded = encode_value(value)
    assert "/" not in encoded and ".." not in encoded
    assert encoded not in ("", ".")
    assert all(0x20 < ord(c) < 0x7F for c in encoded)


def test_long_field_values_become_digests_and_keep_keys_apart() -> None:
    kf = KeyFormat("/logs/$TAG/state=$state/$UUID.gz")
    keys = {
        kf.render("app", kf.group({"state": "é" * 600 + str(n)}), T0, uuid8="ABCDEFGH")
        for n in range(50)
    }
    assert len(keys) == 50
    for key in keys:
        assert len(key.encode()) <= 1024 and key.endswith("/ABCDEFGH.gz")
        assert re.fullmatch(r"logs/app/state=(%[0-9A-F]{2}){5}~[0-9a-f]{16}/ABCDEFGH\.gz", key)


def test_a_long_format_is_cut_with_a_digest_of_the_whole_key() -> None:
    kf = KeyFormat("/" + "a" * 2000 + "/$UUID")
    one = kf.render("t", (), T0, uuid8="AAAAAAAA")
    two = kf.render("t", (), T0, uuid8="BBBBBBBB")
    assert one != two and len(one.encode()) == len(two.encode()) == 1024


def test_field_values_orjson_refuses_still_render() -> None:
    kf = KeyFormat("/l/$user")
    assert kf.render("t", kf.group({"user": {"id": 2**70}}), T0) == (
        "l/%7B%22id%22%3A1180591620717411303424%7D"
    )
