"""The ``multiline`` filter: joining, ``partial_message``, and who holds which acknowledgement
when a record spans chunks (``buffer On``)."""

from __future__ import annotations

import asyncio
import logging
import subprocess
from pathlib import Path
from typing import Any

import pytest

from logtide.agent.config.loader import load_string
from logtide.agent.core.emitter import Emitter
from logtide.agent.core.events import Ack, Event, Origin
from logtide.agent.core.metrics import Metrics
from logtide.agent.core.plugins import PluginContext
from logtide.agent.engine.plan import build_plan
from logtide.agent.filters import multiline
from logtide.agent.filters.multiline import MultilineFilter
from tests.support.cli import LOGTIDE
from tests.support.plugins import build

TRACE = [
    "java.lang.IllegalStateException: order 7 is not valid\n",
    "\tat io.shop.Orders.save(Orders.java:12)\n",
    "\tat io.shop.Api.handle(Api.java:40)\n",
    "Caused by: java.io.IOException: reset\n",
    "\tat io.shop.Db.read(Db.java:3)\n",
    "\t... 12 more\n",
]


def _events(*lines: str, ts: float = 1.0) -> list[Event]:
    return [(ts + n, {"log": line, "stream": "stderr"}) for n, line in enumerate(lines)]


class FakeEmitter(Emitter):
    """Records what the filter emits and stands for the engine's current chunk."""

    name = "emitter_for_ml"

    def __init__(self) -> None:
        self.current: Ack | None = None
        self.here: tuple[str, Origin] | None = None
        self.emitted: list[tuple[str, list[Event], Ack]] = []
        self.starts: list[int | None] = []

    @property
    def ack(self) -> Ack:
        assert self.current is not None
        return self.current

    @property
    def own(self) -> bool:
        return False

    @property
    def origin(self) -> tuple[str, Origin] | None:
        return self.here

    def emit(
        self, tag: str, events: list[Event], ack: Ack | None = None, *, start: int | None = None
    ) -> None:
        parent = ack or self.ack
        parent.retain()
        self.emitted.append((tag, list(events), parent))
        self.starts.append(start)

    async def send(self, tag: str, events: list[Event], ack: Ack) -> None:
        ack.retain()
        self.emitted.append((tag, list(events), ack))


def _filter(emitter: Emitter | None = None, /, **options: str) -> MultilineFilter:
    context = PluginContext(
        instance="ml",
        spawn=lambda coro, name: coro.close(),
        metrics=Metrics(),
        logger=logging.getLogger("test"),
        emitter=emitter,
    )
    options.setdefault("multiline.key_content", "log")
    return build(MultilineFilter, context, **options)


def test_buffer_off_joins_within_a_chunk_and_flushes_its_end() -> None:
    filt = _filter(**{"multiline.parser": "java", "buffer": "off"})
    out = filt("app", _events("before\n", *TRACE, "after\n"))
    assert [record["log"] for _, record in out] == ["before\n", "".join(TRACE), "after\n"]
    assert out[1] == (2.0, {"log": "".join(TRACE), "stream": "stderr"})
    # the end of a chunk ends what is open: nothing is carried to the next one
    assert [r["log"] for _, r in filt("app", _events(*TRACE[:3]))] == ["".join(TRACE[:3])]


def test_a_record_without_the_key_passes_and_ends_the_open_one() -> None:
    filt = _filter(**{"multiline.parser": "java", "buffer": "off"})
    out = filt("app", [*_events(*TRACE[:2]), (9.0, {"other": 1}), *_events("x\n")])
    assert [r for _, r in out] == [
        {"log": "".join(TRACE[:2]), "stream": "stderr"},
        {"other": 1},
        {"log": "x\n", "stream": "stderr"},
    ]


def test_python_ends_at_the_exception_line_and_repeats_it_as_fluent_bit_does() -> None:
    filt = _filter(**{"multiline.parser": "python", "buffer": "off"})
    lines = [
        "Traceback (most recent call last):\n",
        '  File "/app/x.py", line 3, in run\n',
        "    return db.fetch(order_id)\n",
        "KeyError: 'order_id'\n",
        "next\n",
    ]
    out = [r["log"] for _, r in filt("app", _events(*lines))]
    assert out == ["".join(lines[:4]), lines[3], "next\n"]


def test_partial_message_joins_parts_by_id_where_the_last_arrives() -> None:
    filt = _filter(mode="partial_message", buffer="off")

    def part(text: str, ordinal: int, last: bool) -> dict[str, Any]:
        return {
            "log": text,
            "source": "stdout",
            "partial_message": "true",
            "partial_id": "p1",
            "partial_ordinal": str(ordinal),
            "partial_last": "true" if last else "false",
        }

    events = [
        (1.0, part("ab", 1, False)),
        (2.0, {"log": "other", "partial_message": "false"}),
        (3.0, part("cd", 2, True)),
    ]
    out = filt("fwd", events)
    assert out == [
        (2.0, {"log": "other", "partial_message": "false"}),
        (1.0, {"log": "abcd", "source": "stdout"}),
    ]


def test_buffer_on_holds_the_chunk_ack_until_the_joined_record_settles() -> None:
    emitter = FakeEmitter()
    filt = _filter(emitter, **{"multiline.parser": "java"})
    fired: list[str] = []
    first = Ack(lambda ok: fired.append("first"))
    second = Ack(lambda ok: fired.append("second"))

    emitter.current = first
    out = filt("app", _events("before\n", *TRACE[:3]))
    assert [r["log"] for _, r in out] == ["before\n"]
    first.settle(True)  # the chunk is delivered (its own records) ...
    assert fired == []  # ... but its last three lines are held, so its ack is too

    emitter.current = second
    out = filt("app", _events(*TRACE[3:], "after\n", ts=10.0))
    assert out == []  # held lines were completed: the rest goes out after them, in order
    second.settle(True)
    [(tag, events, joint)] = emitter.emitted
    assert tag == "app"
    assert [r["log"] for _, r in events] == ["".join(TRACE), "after\n"]
    assert fired == []  # the joined record is not delivered yet
    joint.settle(True)
    assert sorted(fired) == ["first", "second"]


def test_buffer_on_flushes_what_it_holds_on_stop() -> None:
    emitter = FakeEmitter()
    filt = _filter(emitter, **{"multiline.parser": "java"})
    fired: list[bool] = []
    ack = Ack(fired.append)
    emitter.current = ack
    assert filt("app", _events(*TRACE[:2])) == []
    ack.settle(True)
    asyncio.run(filt.stop())
    [(_, events, joint)] = emitter.emitted
    assert [r["log"] for _, r in events] == ["".join(TRACE[:2])]
    assert fired == []
    joint.settle(False)  # an output gave up: the source must not checkpoint past it
    assert fired == [False]


def test_tags_gone_idle_are_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each pod's file has a tag of its own: the filter kept a joiner for every tag it ever
    # saw, and its flush loop visited them all, twice a second, for the life of the agent.
    now = [1000.0]
    monkeypatch.setattr(multiline.time, "time", lambda: now[0])
    emitter = FakeEmitter()
    emitter.current = Ack(lambda ok: None)
    filt = _filter(emitter, **{"multiline.parser": "java"})
    for pod in range(50):
        assert len(filt(f"kube.pod-{pod}", _events("one line\n", "another\n"))) == 2
    assert filt("kube.open", _events(*TRACE[:2])) == []
    now[0] += multiline.FORGET_IDLE_SECONDS / 2
    asyncio.run(filt._flush(all_=False))  # flush_ms passed: the open trace goes out
    assert len(filt._tags) == 51, "not idle long enough yet"
    now[0] += multiline.FORGET_IDLE_SECONDS
    asyncio.run(filt._flush(all_=False))
    assert filt._tags == {}
    [(tag, events, _)] = emitter.emitted
    assert tag == "kube.open" and [r["log"] for _, r in events] == ["".join(TRACE[:2])]


def test_buffer_off_keeps_nothing_per_tag() -> None:
    filt = _filter(**{"multiline.parser": "java", "buffer": "off"})
    for pod in range(10):
        filt(f"kube.pod-{pod}", _events(*TRACE))
    assert filt._tags == {}


@pytest.mark.parametrize(
    ("conf", "parsers", "message"),
    [
        (
            "multiline.parser java, nosuch",
            "",
            "a.conf:9: filter 'multiline': multiline.parser: unknown multiline parser 'nosuch'",
        ),
        (
            "multiline.parser bad",
            '[MULTILINE_PARSER]\n    name bad\n    type regex\n    rule "start_state" "/^(x/" "c"\n',
            "p.conf:4: multiline parser rule regex '/^(x/'",
        ),
    ],
)
def test_bad_input_is_one_line_with_file_and_line(
    tmp_path: Path, conf: str, parsers: str, message: str
) -> None:
    (tmp_path / "p.conf").write_text(parsers)
    (tmp_path / "a.conf").write_text(
        "[SERVICE]\n    Parsers_File p.conf\n[INPUT]\n    Name dummy\n[FILTER]\n"
        "    Name multiline\n    Match *\n    multiline.key_content log\n"
        f"    {conf}\n[OUTPUT]\n    Name null\n    Match *\n"
    )
    result = subprocess.run(
        [str(LOGTIDE), "-c", "a.conf", "--dry-run"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr


def test_a_chunk_beginning_inside_a_record_keeps_the_chunk_before_it_held() -> None:
    emitter = FakeEmitter()
    filt = _filter(emitter, **{"multiline.parser": "java"})
    fired: list[str] = []
    first = Ack(lambda ok: fired.append("first"))
    second = Ack(lambda ok: fired.append("second"))
    emitter.current = first
    filt("app", _events("one\n", *TRACE[:3]))
    first.settle(True)
    emitter.current = second  # ends trace 1, starts trace 2: held again
    filt("app", _events(*TRACE[3:], "two\n", *TRACE[:2], ts=10.0))
    second.settle(True)
    [(_, events, joint)] = emitter.emitted
    assert [r["log"] for _, r in events] == ["".join(TRACE), "two\n"]
    joint.settle(True)
    # Trace 1 is delivered, but releasing the first chunk alone would checkpoint its end,
    # and a restart would re-read trace 1 from its middle.
    assert fired == []
    emitter.current = third = Ack(lambda ok: fired.append("third"))
    filt("app", _events("three\n", ts=20.0))
    third.settle(True)
    [_, (_, events, joint)] = emitter.emitted
    assert [r["log"] for _, r in events] == ["".join(TRACE[:2]), "three\n"]
    joint.settle(True)
    assert sorted(fired) == ["first", "second", "third"]


def test_records_joined_across_chunks_continue_their_stream_from_the_first_held_chunk() -> None:
    emitter = FakeEmitter()
    filt = _filter(emitter, **{"multiline.parser": "java"})
    chunks = [
        (("tail.0", Origin("f", 0, 50)), _events("one\n", *TRACE[:2])),
        (("tail.0", Origin("f", 50, 90)), _events(*TRACE[2:4], ts=10.0)),
        (("tail.0", Origin("f", 90, 120)), _events(*TRACE[4:], "two\n", *TRACE[:1], ts=20.0)),
        # the next record's lines come from another file under the same tag
        (("tail.0", Origin("g", 0, 30)), _events(*TRACE[1:], "three\n", ts=30.0)),
    ]
    for here, events in chunks:
        emitter.current, emitter.here = Ack(), here
        filt("app", events)
    # the first joined records begin in the first held chunk; the second mixes sources
    assert emitter.starts == [0, None]
    assert [[r["log"] for _, r in events] for _, events, _ in emitter.emitted] == [
        ["".join(TRACE), "two\n"],
        ["".join(TRACE), "three\n"],
    ]


def test_multiline_parser_lines_add_up_as_in_fluent_bit() -> None:
    conf = (
        "[INPUT]\n    Name dummy\n[FILTER]\n    Name multiline\n    Match *\n"
        "    multiline.key_content log\n    multiline.parser java\n    multiline.parser python\n"
        "[OUTPUT]\n    Name null\n    Match *\n"
    )
    [spec] = build_plan(load_string(conf)).filters
    assert spec.config.multiline_parser == ["java", "python"]
