"""The multiline batch test's substring search agrees with Python's own ``in``."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from logtide.agent.parsers.multiline.hints import _rarity, holds

ALPHABET = "aeEt \tx:.\0rR"


def _chars(needle: str) -> tuple[str, ...]:
    return tuple(sorted(set(needle), key=_rarity))


@settings(max_examples=400, deadline=None)
@given(st.text(ALPHABET, min_size=1, max_size=6), st.text(ALPHABET, max_size=3000))
def test_holds_is_substring_search(needle: str, text: str) -> None:
    assert holds(text, needle, _chars(needle)) == (needle in text)


def test_holds_past_its_budget_still_finds_a_late_needle() -> None:
    # 3,000 anchors, none followed by the rest of the needle, then the needle itself.
    crowd = "E" * 3000 + " xception: "
    assert holds(crowd + "Exception:", "Exception:", _chars("Exception:"))
    assert not holds(crowd, "Exception:", _chars("Exception:"))
