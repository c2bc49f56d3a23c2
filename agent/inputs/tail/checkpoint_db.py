"""Checkpoints: each file's acknowledged offset, kept in Fluent Bit's SQLite layout.

Rows live in memory (one per inode) and are written to ``in_tail_files`` (id, name, offset,
inode, created, rotated), the table Fluent Bit uses, so a DB left by Fluent Bit is picked up
as is. logtide adds ``logtide_fingerprints`` (id, length, digest): a hash of the bytes just
before the offset. A file whose bytes there differ (copytruncate, inode reuse) is read from 0
instead of from an offset that belongs to another file's content.

``logtide_lineage`` (id, token, head_length, head_digest) names each file's content: a random
token, replaced whenever the content starts over (truncation, a fingerprint or head that no
longer matches). Chunks carry it in their origin, so an output's watermark for one content
never applies to another that happens to reuse the row.

``logtide_done`` (id, head_length, head_digest, name) remembers the first bytes of the
newest :data:`DONE_KEPT` contents whose rows were dropped because their file is gone (read to
its end, then gzipped or removed by kubelet), and the file's name then, so a start can tell a
``.gz`` the agent read from one born and compressed while it was down (``gzip_recovery.py``).

Writes are batched: the input snapshots dirty rows on the event loop and
:meth:`CheckpointStore.write` runs in a worker thread.
"""

from __future__ import annotations

import os
import sqlite3
import time
from typing import cast

from logtide.agent.inputs.state_db import HeldDB, open_held
from logtide.agent.inputs.tail.rows import LineageKey, Row

# kubelet keeps 5 generations of a container's log: 4,096 covers the gzips of a node's
# ~1,000 containers, at ~50 bytes each in the DB.
DONE_KEPT = 4096

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS in_tail_files (
        id      INTEGER PRIMARY KEY,
        name    TEXT NOT NULL,
        offset  INTEGER,
        inode   INTEGER,
        created INTEGER,
        rotated INTEGER DEFAULT 0
    )""",
    """CREATE TABLE IF NOT EXISTS logtide_fingerprints (
        id      INTEGER PRIMARY KEY,
        length  INTEGER NOT NULL,
        digest  BLOB NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS logtide_lineage (
        id           INTEGER PRIMARY KEY,
        token        TEXT NOT NULL,
        head_length  INTEGER NOT NULL,
        head_digest  BLOB NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS logtide_done (
        id           INTEGER PRIMARY KEY,
        head_length  INTEGER NOT NULL,
        head_digest  BLOB NOT NULL,
        name         TEXT
    )""",
)
# A DB of a logtide before names were kept: its heads (NULL names) stand for any path.
_NAME_DONE = "ALTER TABLE logtide_done ADD COLUMN name TEXT"
_PRUNE_DONE = (
    f"DELETE FROM logtide_done WHERE id <= (SELECT max(id) FROM logtide_done) - {DONE_KEPT}"
)


# (the file's name when its row went, None from an older logtide; head length, digest)
Done = tuple[str | None, int, bytes]


Snapshot = list[tuple[str, tuple[object, ...]]]


class CheckpointStore:
    """In-memory rows, optionally persisted to a SQLite file."""

    def __init__(
        self,
        path: str | None,
        *,
        sync: str = "normal",
        locking: bool = False,
        journal_mode: str = "WAL",
        compare_filename: bool = False,
    ) -> None:
        self.path = path
        self.sync = sync
        self.locking = locking
        self.journal_mode = journal_mode
        self.compare_filename = compare_filename
        self.rows: dict[int, Row] = {}
        self._dirty: set[int] = set()
        self._deleted: set[int] = set()
        # Each row's lineage as the DB holds it, to write it only when it changes.
        self._lineage_saved: dict[int, LineageKey] = {}
        self._next_id = 1
        # Heads of rows dropped because their file was gone (as of open), and of those
        # retired since, to write.
        self.done: list[Done] = []
        self._retired: list[Done] = []
        self._held: HeldDB | None = None

    # -- lifecycle (call from the DB thread) ---------------------------------------------
    def open(self) -> None:
        if not self.path:
            return
        self._held, (rows, lineages, done) = open_held(self.path, "tail", self._load)
        self.rows.update((row.id, row) for row in rows)
        self.done.extend(done)
        self._lineage_saved.update(lineages)
        self._next_id = max(self.rows, default=0) + 1

    def _load(self, db: sqlite3.Connection) -> tuple[list[Row], dict[int, LineageKey], list[Done]]:
        db.execute(f"PRAGMA journal_mode={self.journal_mode}")
        db.execute(f"PRAGMA synchronous={self.sync.upper()}")
        if self.locking:
            db.execute("PRAGMA locking_mode=EXCLUSIVE")
        for statement in _SCHEMA:
            db.execute(statement)
        if "name" not in {column[1] for column in db.execute("PRAGMA table_info(logtide_done)")}:
            db.execute(_NAME_DONE)
        db.execute(_PRUNE_DONE)
        done = [
            (_loaded(name), length, bytes(blob))
            for name, length, blob in db.execute(
                "SELECT name, head_length, head_digest FROM logtide_done ORDER BY id"
            )
        ]
        prints = {
            row_id: (length, bytes(blob))
            for row_id, length, blob in db.execute(
                "SELECT id, length, digest FROM logtide_fingerprints"
            )
        }
        lineages = {
            row_id: (token, length, bytes(blob))
            for row_id, token, length, blob in db.execute(
                "SELECT id, token, head_length, head_digest FROM logtide_lineage"
            )
        }
        rows = []
        for row_id, name, offset, inode, created, rotated in db.execute(
            "SELECT id, name, offset, inode, created, rotated FROM in_tail_files"
        ):
            row = Row(
                row_id,
                cast(str, _loaded(name)),
                offset or 0,
                inode or 0,
                created or 0,
                rotated or 0,
                *prints.get(row_id, (0, b"")),
            )
            if row_id in lineages:
                row.lineage, row.head_length, row.head_digest = lineages[row_id]
            rows.append(row)
        return rows, lineages, done

    def close(self) -> None:
        if self._held is not None:
            self._held.close()
            self._held = None

    # -- rows (event loop) ---------------------------------------------------------------
    def find(self, inode: int, name: str) -> Row | None:
        for row in self.rows.values():
            if row.inode == inode and (not self.compare_filename or row.name == name):
                return row
        return None

    def create(self, name: str, inode: int, offset: int) -> Row:
        row = Row(self._next_id, name, offset, inode, int(time.time()))
        self._next_id += 1
        self.rows[row.id] = row
        self.touch(row)
        return row

    def touch(self, row: Row) -> None:
        self._dirty.add(row.id)

    def delete(self, row: Row) -> None:
        if self.rows.pop(row.id, None) is not None:
            self._dirty.discard(row.id)
            self._deleted.add(row.id)

    def retire(self, row: Row) -> None:
        """:meth:`delete` a row whose file is gone for good (read to its end, or found
        nowhere at start), remembering its head (when it has one) in ``logtide_done``."""
        if self.rows.get(row.id) is row and row.head_length:
            self._retired.append((row.name, row.head_length, row.head_digest))
        self.delete(row)

    @property
    def pending(self) -> bool:
        return bool(self._dirty or self._deleted or self._retired)

    def snapshot(self) -> Snapshot:
        """Take the pending changes (on the loop) for :meth:`write` (in a thread).

        A row's lineage changes only when its content starts over, its offset with every
        acknowledgement: the lineage is written only when it differs from what the DB holds
        (as of the last write that committed).
        """
        changes: Snapshot = []
        for row_id in sorted(self._deleted):
            changes.append(("delete", (row_id,)))
        for row_id in sorted(self._dirty):
            row = self.rows[row_id]
            changes.append(
                (
                    "upsert",
                    (
                        row.id,
                        row.name,
                        row.offset,
                        row.inode,
                        row.created,
                        row.rotated,
                        row.fp_length,
                        row.fp_digest,
                    ),
                )
            )
            lineage = row.lineage_key
            if self._lineage_saved.get(row_id) != lineage:
                changes.append(("lineage", (row.id, *lineage)))
        changes.extend(("done", head) for head in self._retired)
        self._dirty.clear()
        self._deleted.clear()
        self._retired.clear()
        return changes

    def lineage_saved(self, row: Row) -> bool:
        """Whether the DB holds ``row``'s lineage as it is now (a row no longer kept, or a
        store closed, has nothing left to save: :meth:`write` would not write it)."""
        if self._held is None or row.id not in self.rows:
            return True
        return self._lineage_saved.get(row.id) == row.lineage_key

    def restore(self, changes: Snapshot) -> None:
        """Mark a snapshot's rows pending again (on the loop) after its write failed: the
        next snapshot takes their values as they are then."""
        for kind, values in changes:
            if kind == "done":
                self._retired.append(cast(Done, values))
                continue
            row_id = cast(int, values[0])
            if kind == "delete":
                if row_id not in self.rows:
                    self._deleted.add(row_id)
            elif row_id in self.rows:
                self._dirty.add(row_id)

    def write(self, changes: Snapshot) -> None:
        if self._held is None or not changes:
            return
        db = self._held.conn
        # One executemany per statement: a thousand busy files move a thousand rows a second.
        deleted = [values for kind, values in changes if kind == "delete"]
        upserts = [values for kind, values in changes if kind == "upsert"]
        lineages = [values for kind, values in changes if kind == "lineage"]
        done = [values for kind, values in changes if kind == "done"]
        db.execute("BEGIN")
        try:
            if deleted:
                for table in ("in_tail_files", "logtide_fingerprints", "logtide_lineage"):
                    db.executemany(f"DELETE FROM {table} WHERE id = ?", deleted)
            db.executemany(
                "INSERT INTO in_tail_files (id, name, offset, inode, created, rotated) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET name=excluded.name, "
                "offset=excluded.offset, inode=excluded.inode, rotated=excluded.rotated",
                [(values[0], _stored(values[1]), *values[2:6]) for values in upserts],
            )
            db.executemany(
                "INSERT INTO logtide_fingerprints (id, length, digest) VALUES (?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET length=excluded.length, digest=excluded.digest",
                [(values[0], values[6], values[7]) for values in upserts],
            )
            if lineages:
                db.executemany(
                    "INSERT INTO logtide_lineage (id, token, head_length, head_digest) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET token=excluded.token, "
                    "head_length=excluded.head_length, head_digest=excluded.head_digest",
                    lineages,
                )
            if done:
                db.executemany(
                    "INSERT INTO logtide_done (name, head_length, head_digest) VALUES (?, ?, ?)",
                    [(_stored(values[0]), *values[1:]) for values in done],
                )
                db.execute(_PRUNE_DONE)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        # Only what committed counts as saved: the lineage of a write that failed is in the
        # next snapshot again (its row is restored), however many writes were queued.
        for values in deleted:
            self._lineage_saved.pop(cast(int, values[0]), None)
        for values in lineages:
            self._lineage_saved[cast(int, values[0])] = cast(LineageKey, values[1:])


def _stored(name: object) -> object:
    """A path as the DB keeps it: its text, or, for a name that is not UTF-8 (a Linux name
    is bytes, decoded with surrogate escapes), its bytes, as Fluent Bit writes them; SQLite
    text must be UTF-8 and the write failed, stopping the input."""
    if isinstance(name, str) and not name.isascii():
        try:
            name.encode()
        except UnicodeEncodeError:
            return os.fsencode(name)
    return name


def _loaded(value: str | bytes | None) -> str | None:
    return os.fsdecode(value) if isinstance(value, bytes) else value
