"""Multiline rules are Onigmo (Ruby) regexes, translated by the one translation every other
Fluent Bit regex goes through (``logtide.agent.parsers.rubyre``), not a weaker second one."""

from __future__ import annotations

from logtide.agent.config.model import Section
from logtide.agent.core.errors import Location
from logtide.agent.core.options import Entry
from logtide.agent.parsers.multiline import MultilineRegistry

WHERE = Location("parsers_multiline.conf", 3)


def test_rules_accept_ruby_escapes_and_options() -> None:
    section = Section(
        "multiline_parser",
        WHERE,
        [
            Entry("name", "hex-ids", WHERE),
            Entry("type", "regex", WHERE),
            # \h is a hex digit and \z the end of the line in Ruby; /i ignores case.
            Entry("rule", r'"start_state" "/^(?<id>\h{4})-[a-z]+\z/" "cont"', WHERE),
            Entry("rule", r'"cont" "/^\s+CAUSED BY/i" "cont"', WHERE),
        ],
    )
    stream = MultilineRegistry.from_sections([section]).stream(["hex-ids"])
    out = []
    for n, line in enumerate([b"beef-start", b"  caused by: x", b"zzzz-start", b"Cafe-next"]):
        out.extend(stream.feed(line, n * 100, now=10.0))
    out.extend(stream.flush_expired(now=100.0))
    assert [record["log"] for _, record in out] == [
        "beef-start\n  caused by: x\n",
        "zzzz-start",
        "Cafe-next\n",
    ]
