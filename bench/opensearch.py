"""Scenario ``os``: tail (docker parser) -> the ``opensearch`` output (Logstash_Format,
Generate_ID) into the tests' local bulk server, which runs in this process (a thread: its
parsing competes for the same 2 cores, so the agent's figures are a floor)."""

from __future__ import annotations

import sys
from pathlib import Path

from measure import Result, run_best
from workload import NULL_OUTPUT, write_config, write_logs

HERE = Path(__file__).resolve().parent

OPENSEARCH_OUTPUT = """\
[OUTPUT]
    Name            opensearch
    Match           *
    Host            127.0.0.1
    Port            {port}
    Logstash_Format On
    Generate_ID     On
    Suppress_Type_Name On
"""


def scenario_opensearch(lines: int, repeat: int) -> Result:
    import tempfile

    sys.path.insert(0, str(HERE.parent))
    from tests.support.bulk_server import BulkServer

    server = BulkServer().start()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-os-") as tmp:
            root = Path(tmp)
            conf = write_config(root, "null", "docker")
            output = OPENSEARCH_OUTPUT.format(port=server.port)
            conf.write_text(conf.read_text().replace(NULL_OUTPUT, output))
            write_logs(root / "logs" / "app.log", lines, "docker")
            result = run_best(conf, lines, "os", repeat)
        # Generate_ID: each run re-sends the same documents, so the count is one run's.
        result.delivered = len(server.documents())
        result.note = f"{len(server.requests):,} bulk requests over {repeat} runs; compare with c"
        return result
    finally:
        server.stop()
