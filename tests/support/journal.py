"""Real journal files for tests: export-format text converted by ``systemd-journal-remote``.

``make test`` installs the converter under ``.venv-tools/journal-remote`` when the system has
none (``make journal-remote``); where neither exists, :func:`needs_journal_tools` skips the
test with one line saying why. ``journalctl`` reads what it writes (``--directory``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_LOCAL = ROOT / ".venv-tools" / "journal-remote"
_CANDIDATES = (
    Path("/lib/systemd/systemd-journal-remote"),
    Path("/usr/lib/systemd/systemd-journal-remote"),
    _LOCAL / "lib" / "systemd" / "systemd-journal-remote",
    _LOCAL / "usr" / "lib" / "systemd" / "systemd-journal-remote",
)
BOOT_ID = "3f8facdd1d18e17871862c4d1ef1ec0c"
T0 = 1_700_000_000_000_000


def journal_remote() -> Path | None:
    return next((path for path in _CANDIDATES if os.access(path, os.X_OK)), None)


def needs_journal_tools() -> None:
    """Skip the calling test where journals cannot be written or read here."""
    if shutil.which("journalctl") is None:
        pytest.skip("journalctl is not installed (Debian package systemd)")
    if journal_remote() is None:
        pytest.skip(
            "systemd-journal-remote is missing and `make journal-remote` could not fetch it"
        )


def export_text(entries: Iterable[Mapping[str, str | bytes]], *, start: int = 0) -> bytes:
    """Export format for ``entries`` (field -> value; bytes values are written in binary
    form), the n-th one timed ``T0 + n`` milliseconds."""
    out = bytearray()
    for n, fields in enumerate(entries, start):
        out += f"__REALTIME_TIMESTAMP={T0 + n * 1000}\n__MONOTONIC_TIMESTAMP={1000 + n}\n".encode()
        out += f"_BOOT_ID={BOOT_ID}\n".encode()
        for name, value in fields.items():
            if isinstance(value, bytes):
                out += name.encode() + b"\n" + len(value).to_bytes(8, "little") + value + b"\n"
            else:
                out += f"{name}={value}\n".encode()
        out += b"\n"
    return bytes(out)


def write_journal(
    path: Path, entries: Iterable[Mapping[str, str | bytes]], *, start: int = 0
) -> None:
    """Append ``entries`` to the journal file ``path`` (created when absent), then signal the
    change as journald does after its writes.

    The writer appends through mmap, which raises no inotify event, so a following
    ``journalctl`` may not see the last entries. journald therefore truncates a file to its
    own size after writing (``journal_file_post_change``). Over a file written by
    ``systemd-journal-remote``, a following journalctl once waited 60 s for the last entry;
    giving the signal here is what a live journal gives a reader."""
    binary = journal_remote()
    assert binary is not None, "call needs_journal_tools() first"
    env = dict(os.environ)
    libs = _LOCAL / "usr" / "lib" / "x86_64-linux-gnu"
    if libs.is_dir():
        env["LD_LIBRARY_PATH"] = f"{libs}:{env.get('LD_LIBRARY_PATH', '')}"
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [str(binary), f"--output={path}", "-"],
        input=export_text(entries, start=start),
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    os.truncate(path, path.stat().st_size)


def unit_entries(
    count: int, *, start: int = 0, unit: str = "kubelet.service"
) -> list[dict[str, str]]:
    """``count`` entries of ``unit`` whose MESSAGE carries its sequence number."""
    return [
        {"_SYSTEMD_UNIT": unit, "PRIORITY": "6", "MESSAGE": f"line {n}", "SEQ": str(n)}
        for n in range(start, start + count)
    ]


def stored_cursor(db: Path) -> str | None:
    """The cursor the systemd input stored in its ``DB`` (Fluent Bit's one-row table).
    Closed on return: a connection left open would keep another from locking the DB."""
    with contextlib.closing(sqlite3.connect(db, timeout=30)) as con:
        rows = list(con.execute("SELECT cursor FROM in_systemd_cursor"))
    return str(rows[0][0]) if rows else None
