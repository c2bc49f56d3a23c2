"""A chunk's source name (the file content's lineage) is in the DB before the chunk leaves
the input: an output may record a watermark under it at once (s3's appends.log, the
cloudwatch_logs journal), and a restart after a kill must name the content the same way."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from logtide.agent.core.events import Chunk
from tests.unit.inputs.tail.harness import Sink, running, wait_for


class CheckingSink(Sink):
    def __init__(self, db: Path) -> None:
        super().__init__()
        self.db = db
        self.saved: list[bool] = []

    async def emit(self, chunk: Chunk) -> None:
        assert chunk.origin is not None
        _, row_id, token = chunk.origin.source.rsplit(":", 2)
        with sqlite3.connect(self.db) as con:
            rows = list(
                con.execute(
                    "SELECT token, head_length > 0 FROM logtide_lineage WHERE id = ?", (row_id,)
                )
            )
        # With the token, the head it was given: a restart that finds the checkpoint at 0
        # and no head in the DB cannot tell the content is the same and names it anew.
        self.saved.append(rows == [(token, 1)])
        await super().emit(chunk)


async def test_lineage_is_in_the_db_before_the_first_chunk(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    db = tmp_path / "tail.db"
    sink = CheckingSink(db)
    async with running(
        sink, Path=str(logs / "*.log"), DB=str(db), Read_from_Head="On", Refresh_Interval="1"
    ):
        (logs / "a.log").write_text("one\ntwo\n")
        await wait_for(lambda: len(sink.records) >= 2)
        with (logs / "a.log").open("a") as handle:
            handle.write("three\n")
        await wait_for(lambda: len(sink.records) >= 3)
    assert sink.saved and all(sink.saved), sink.saved
