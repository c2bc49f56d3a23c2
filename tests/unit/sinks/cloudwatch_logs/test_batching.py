import random

import orjson
import pytest

from logtide.sinks.cloudwatch_logs.batching import (
    EVENT_OVERHEAD,
    MAX_AGE_MS,
    MAX_AHEAD_MS,
    MAX_BATCH_BYTES,
    MAX_BATCH_EVENTS,
    MAX_EVENT_BYTES,
    MAX_SPAN_MS,
    BuildStats,
    LogEvent,
    batch_bytes,
    build_event,
    encode_events,
    split_batches,
    whole_record_batches,
)

NOW_MS = 1_795_744_014_714


def event(ms: int, record: dict | None = None) -> LogEvent:
    item = build_event((ms / 1000, record or {"n": ms}), None, BuildStats())
    assert item is not None
    return item


def assert_valid(batches: list[list[LogEvent]]) -> None:
    for batch in batches:
        assert 0 < len(batch) <= MAX_BATCH_EVENTS
        assert batch_bytes(batch) <= MAX_BATCH_BYTES
        stamps = [item.timestamp for item in batch]
        assert stamps == sorted(stamps)
        assert stamps[-1] - stamps[0] < MAX_SPAN_MS


def test_message_is_record_json_and_timestamp_truncated_to_ms() -> None:
    record = {"item_id": "18", "state": "NH", "stream": "stdout"}
    item = build_event((1795744014.7149, record), None, BuildStats())
    assert item is not None
    assert item.message == '{"item_id":"18","state":"NH","stream":"stdout"}'
    assert item.timestamp == 1795744014714
    assert item.size == len(item.message.encode())
    # 1.714 is stored as 1.71399999...; it must still give 1714 ms.
    assert build_event((1.714, {"a": 1}), None, BuildStats()).timestamp == 1714  # type: ignore[union-attr]


def test_utf8_size_counts_bytes_not_characters() -> None:
    item = build_event((1.0, {"s": "é€"}), None, BuildStats())
    assert item is not None
    assert item.size == len('{"s":"é€"}'.encode()) == 13


def test_log_key_sends_raw_string_and_skips_missing_or_empty() -> None:
    stats = BuildStats()
    assert build_event((1.0, {"log": "hello"}), "log", stats).message == "hello"  # type: ignore[union-attr]
    assert build_event((1.0, {"log": {"a": 1}}), "log", stats).message == '{"a":1}'  # type: ignore[union-attr]
    assert build_event((1.0, {"other": "x"}), "log", stats) is None
    assert build_event((1.0, {"log": ""}), "log", stats) is None
    assert build_event((1.0, {}), None, stats) is None
    assert (stats.missing_key, stats.empty) == (1, 2)


def test_oversized_event_is_truncated_on_a_character_boundary() -> None:
    stats = BuildStats()
    item = build_event((1.0, {"log": "é" * MAX_EVENT_BYTES}), "log", stats)
    assert item is not None
    assert stats.truncated == 1
    assert item.size <= MAX_EVENT_BYTES
    assert item.size == len(item.message.encode())
    assert set(item.message) == {"é"}


def test_count_limit_splits_at_10000() -> None:
    items = [event(NOW_MS - 1000 + i % 7) for i in range(MAX_BATCH_EVENTS * 2 + 5)]
    result = split_batches(items, NOW_MS)
    assert [len(b) for b in result.batches] == [MAX_BATCH_EVENTS, MAX_BATCH_EVENTS, 5]
    assert_valid(result.batches)


def test_byte_limit_counts_26_bytes_per_event() -> None:
    # Messages sized so exactly N fit: N * (size + 26) <= 1 MiB < (N + 1) * (size + 26).
    body = "x" * (10_000 - len('{"m":""}'))
    items = [event(NOW_MS, {"m": body}) for _ in range(300)]
    per_event = items[0].size + EVENT_OVERHEAD
    fit = MAX_BATCH_BYTES // per_event
    result = split_batches(items, NOW_MS)
    assert len(result.batches[0]) == fit
    assert batch_bytes(result.batches[0]) <= MAX_BATCH_BYTES
    assert batch_bytes(result.batches[0]) + per_event > MAX_BATCH_BYTES
    assert sum(len(b) for b in result.batches) == 300
    assert_valid(result.batches)


def test_exact_fit_is_one_batch() -> None:
    size = MAX_BATCH_BYTES // 4 - EVENT_OVERHEAD
    body = "y" * (size - len('{"m":""}'))
    items = [event(NOW_MS, {"m": body}) for _ in range(4)]
    assert batch_bytes(items) == MAX_BATCH_BYTES
    assert len(split_batches(items, NOW_MS).batches) == 1


def test_span_of_24_hours_starts_a_new_batch() -> None:
    start = NOW_MS - MAX_AGE_MS + 60_000
    items = [event(start), event(start + MAX_SPAN_MS - 1), event(start + MAX_SPAN_MS)]
    result = split_batches(items, NOW_MS)
    assert [[i.timestamp - start for i in b] for b in result.batches] == [
        [0, MAX_SPAN_MS - 1],
        [MAX_SPAN_MS],
    ]


def test_sort_is_stable_by_time() -> None:
    items = [
        event(NOW_MS - 5, {"i": i}) if i % 2 else event(NOW_MS - 9, {"i": i}) for i in range(6)
    ]
    result = split_batches(items, NOW_MS)
    order = [orjson.loads(i.message)["i"] for i in result.batches[0]]
    assert order == [0, 2, 4, 1, 3, 5]


def test_too_old_and_too_new_events_are_set_aside() -> None:
    items = [
        event(NOW_MS - MAX_AGE_MS - 1),
        event(NOW_MS - MAX_AGE_MS),
        event(NOW_MS),
        event(NOW_MS + MAX_AHEAD_MS),
        event(NOW_MS + MAX_AHEAD_MS + 1),
    ]
    result = split_batches(items, NOW_MS)
    assert [i.timestamp for i in result.too_old] == [NOW_MS - MAX_AGE_MS - 1]
    assert [i.timestamp for i in result.too_new] == [NOW_MS + MAX_AHEAD_MS + 1]
    assert sum(len(b) for b in result.batches) == 3


@pytest.mark.parametrize("seed", range(5))
def test_random_mixes_always_give_valid_batches(seed: int) -> None:
    rng = random.Random(seed)
    items = []
    for _ in range(3000):
        ms = NOW_MS - rng.randrange(0, 13 * 24 * 3600 * 1000)
        items.append(event(ms, {"m": "z" * rng.choice([10, 1000, 50_000])}))
    result = split_batches(items, NOW_MS)
    assert_valid(result.batches)
    assert sorted(i.source for b in result.batches for i in b) == sorted(i.source for i in items)


def per_event(events: list, now_ms: int) -> list[tuple[list, bytes]]:
    stats = BuildStats()
    items = [item for e in events if (item := build_event(e, None, stats)) is not None]
    split = split_batches(items, now_ms)
    assert not split.too_old and not split.too_new
    return [([item.source for item in batch], encode_events(batch)) for batch in split.batches]


@pytest.mark.parametrize(
    ("count", "pad"),
    [(1, 0), (3000, 400), (10_001, 0), (25, 150_000), (7, 999_000), (-3000, 400)],
    ids=["one", "some", "count-limit", "byte-limit", "near-event-limit", "out-of-order"],
)
def test_whole_records_are_batched_as_the_per_event_path_batches_them(count: int, pad: int) -> None:
    """A negative ``count``: as many events, shuffled (several files under one tag)."""
    rng = random.Random(count)
    stamp = NOW_MS / 1000 - 3600
    events = []
    for n in range(abs(count)):
        stamp += rng.choice((0, 0.0004, 0.001, 0.25))
        events.append((stamp, {"n": n, "s": 'é"\\' * rng.randrange(4), "pad": "x" * pad}))
    if count < 0:
        rng.shuffle(events)
    whole = whole_record_batches(events, NOW_MS)
    assert whole is not None
    expected = per_event(events, NOW_MS)
    assert [(batch.sources, batch.encoded) for batch in whole] == expected
    assert len(expected) > 1 or count == 1
    in_order = sorted(events, key=lambda e: round(e[0] * 1_000_000) // 1000)
    assert [e for batch in whole for e in batch.sources] == in_order


@pytest.mark.parametrize(
    "events",
    [
        [(NOW_MS / 1000, {"a": 1}), (NOW_MS / 1000, {})],
        [(NOW_MS / 1000, {"big": "x" * MAX_EVENT_BYTES})],
        [((NOW_MS - MAX_AGE_MS - 1) / 1000, {"a": 1})],
        [((NOW_MS + MAX_AHEAD_MS + 1) / 1000, {"a": 1})],
        [((NOW_MS - MAX_SPAN_MS) / 1000, {"a": 1}), (NOW_MS / 1000, {"a": 2})],
    ],
    ids=["empty-record", "too-large", "too-old", "too-new", "24-hour-span"],
)
def test_events_that_need_a_decision_of_their_own_take_the_per_event_path(
    events: list,
) -> None:
    assert whole_record_batches(events, NOW_MS) is None


def test_no_events_make_no_batches() -> None:
    assert whole_record_batches([], NOW_MS) == []


def test_limits_met_exactly_are_batched_as_the_per_event_path_batches_them() -> None:
    """An event of exactly MAX_EVENT_BYTES, and two events filling MAX_BATCH_BYTES exactly
    (a third goes to the next batch)."""
    t = NOW_MS / 1000
    frame = len('{"p":""}')
    largest = [(t, {"p": "x" * (MAX_EVENT_BYTES - frame)})]
    half = MAX_BATCH_BYTES // 2 - EVENT_OVERHEAD - frame
    filling = [(t, {"p": "x" * half}), (t, {"p": "y" * half}), (t, {"p": "z"})]
    counts = []
    for events in (largest, filling):
        whole = whole_record_batches(events, NOW_MS)
        assert whole is not None
        assert [(batch.sources, batch.encoded) for batch in whole] == per_event(events, NOW_MS)
        counts.append([len(batch.sources) for batch in whole])
    assert counts == [[1], [2, 1]]
    message = orjson.loads(whole_record_batches(largest, NOW_MS)[0].encoded)[0]["message"]  # type: ignore[index]
    assert len(message) == MAX_EVENT_BYTES
