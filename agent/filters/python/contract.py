"""The ``python`` filter's return contract: what a callable may return, and the events it
becomes. Anything else is garbage: the caller keeps the input unchanged and counts an error.

Per record, as Fluent Bit's lua callbacks: ``(code, timestamp, record)`` with code ``-1``
drop, ``0`` keep unchanged, ``1`` replace timestamp and record, ``2`` replace the record and
keep the timestamp; ``record`` may be a list of dicts (the event splits into several; an
empty list drops it). In batch mode, a list (or tuple) of ``(timestamp, record)`` pairs.
"""

from __future__ import annotations

from typing import Any

from logtide.agent.core.events import Event

# Beyond any date a sink renders; also false for NaN and the infinities.
_LIMIT = 1e15


class Garbage(Exception):
    """A return value outside the contract; the message says what was wrong."""


def _time(value: Any) -> float:
    if (type(value) is float or type(value) is int) and -_LIMIT < value < _LIMIT:
        return float(value)
    raise Garbage(f"timestamp must be a finite int or float, got {_describe(value)}")


def record_result(event: Event, result: Any, out: list[Event]) -> None:
    """Append to ``out`` the events a per-record callable's ``result`` asks for.

    Validates everything before appending anything, so garbage leaves ``out`` as it was.
    """
    if type(result) is not tuple and type(result) is not list:
        raise Garbage(f"expected (code, timestamp, record), got {_describe(result)}")
    if len(result) != 3:
        raise Garbage(f"expected (code, timestamp, record), got {len(result)} values")
    code, timestamp, record = result
    if type(code) is not int:
        raise Garbage(f"code must be -1, 0, 1 or 2, got {_describe(code)}")
    if code == 0:
        out.append(event)
        return
    if code == -1:
        return
    if code == 1:
        when = _time(timestamp)
    elif code == 2:
        when = event[0]
    else:
        raise Garbage(f"code must be -1, 0, 1 or 2, got {code}")
    if type(record) is dict:
        out.append((when, record))
        return
    if type(record) is not list:
        raise Garbage(f"record must be a dict or a list of dicts, got {_describe(record)}")
    for item in record:
        if type(item) is not dict:
            raise Garbage(f"record list holds {_describe(item)}, not only dicts")
    out.extend((when, item) for item in record)


def batch_result(result: Any) -> list[Event]:
    """The events a batch callable's ``result`` holds, as ``(float, dict)`` tuples."""
    if type(result) is not list and type(result) is not tuple:
        raise Garbage(f"expected a list of (timestamp, record) pairs, got {_describe(result)}")
    events: list[Event] = []
    append = events.append
    for item in result:
        if type(item) is tuple and len(item) == 2:
            timestamp, record = item
            if type(timestamp) is float and type(record) is dict and -_LIMIT < timestamp < _LIMIT:
                append(item)  # the common case, unchanged: no new tuple
                continue
        elif type(item) is not list or len(item) != 2:
            raise Garbage(f"expected (timestamp, record) pairs, found {_describe(item)}")
        timestamp, record = item
        if type(record) is not dict:
            raise Garbage(f"record must be a dict, got {_describe(record)}")
        append((_time(timestamp), record))
    return events


def _describe(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"
