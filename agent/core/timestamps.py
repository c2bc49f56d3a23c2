"""The range of event times logtide can render, and the clamp every output applies.

Python's ``datetime`` stops at years 1 and 9999 and ``time.gmtime`` at the platform's
``time_t``, so a time outside 0001-01-01..9999-12-31 (a ``%s`` of ``99999999999999999999``,
a year-10000 date) cannot become a date string or an S3 key. Parsers treat such a time as
invalid (the record keeps its read time); an output that still meets one (from the forward
or lib input, a stream task, ``Pipeline.push``) renders it clamped to the nearest end of the
range and counts it, so one record never fails a batch.
"""

from __future__ import annotations

import math

# 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z as Unix seconds.
MIN_TIME = -62_135_596_800
MAX_TIME = 253_402_300_799


def in_range(timestamp: float) -> bool:
    """Whether ``timestamp`` renders as a date (NaN does not)."""
    return MIN_TIME <= timestamp <= MAX_TIME


def clamp_time(timestamp: float) -> float:
    """``timestamp`` moved into the renderable range; NaN becomes the epoch."""
    if MIN_TIME <= timestamp <= MAX_TIME:
        return timestamp
    if math.isnan(timestamp):
        return 0.0
    return float(MIN_TIME if timestamp < MIN_TIME else MAX_TIME)
