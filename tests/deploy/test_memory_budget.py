"""The shipped ConfigMap's Mem_Buf_Limit fits the DaemonSet's memory limit.

Mem_Buf_Limit counts source bytes; held as Python objects the records take about four and
a half times that (measured: 16MB of unacknowledged lines of the article's app raised RSS by
~70 MB). The agent itself takes ~85 MB. What the limit leaves must still hold the S3 upload
in flight (a multipart part or a whole small object) and the output batches' request bodies;
the 10-minute outage in tests/faults/test_outage_memory.py measures the real peak.
"""

from __future__ import annotations

from logtide.agent.core.options import parse_size
from tests.faults.test_outage_memory import container_memory_limit, shipped_mem_buf_limit

RECORD_EXPANSION = 4.5
AGENT_BASELINE = 90 * 2**20
HEADROOM = 32 * 2**20


def test_mem_buf_limit_leaves_room_in_the_container_limit() -> None:
    records = parse_size(shipped_mem_buf_limit()) * RECORD_EXPANSION
    assert AGENT_BASELINE + records + HEADROOM <= container_memory_limit()
