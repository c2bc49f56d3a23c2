"""Scenario ``python`` of bench/run.py: tail (docker parser) -> python filter -> null, with
trivial callables in both forms, next to scenario ``c`` (the same without the filter).

``python`` calls ``cb(tag, ts, record) -> (0, ts, record)`` once per record;
``python-batch`` (``Batch On``) calls ``cb(tag, events) -> events`` once per chunk. What the
two cost beyond ``c`` is the filter: the Python call per record, and checking the result.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from measure import Result, run_best
from workload import write_config, write_logs

PER_RECORD = "def cb(tag, ts, record):\n    return 0, ts, record\n"
BATCH = "def cb(tag, events):\n    return events\n"

FILTER = """\
[FILTER]
    Name   python
    Match  *
    Path   {path}
    Call   cb
    Batch  {batch}
"""


def _run(lines: int, repeat: int, batch: bool) -> Result:
    label = "python-batch" if batch else "python"
    with tempfile.TemporaryDirectory(prefix=f"bench-{label}-") as tmp:
        root = Path(tmp)
        conf = write_config(root, "null", "docker")
        (root / "callback.py").write_text(BATCH if batch else PER_RECORD)
        section = FILTER.format(path="callback.py", batch="On" if batch else "Off")
        conf.write_text(conf.read_text().replace("[OUTPUT]", section + "[OUTPUT]", 1))
        write_logs(root / "logs" / "app.log", lines, "docker")
        result = run_best(conf, lines, label, repeat)
        result.note = "trivial callable per chunk" if batch else "trivial callable per record"
        return result


def scenario_python(lines: int, repeat: int) -> list[Result]:
    return [_run(lines, repeat, batch=False), _run(lines, repeat, batch=True)]
