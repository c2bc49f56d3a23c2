"""The bad-input corpus, generated (seeded) instead of committed as binaries.

:func:`build` writes every case into a folder of ``*.log`` files and returns, per file, the
number of records the agent must deliver from it (``None``: any number, the point of the
case is that nothing breaks). Cases: malformed JSON, invalid UTF-8, NUL bytes, a 10 MB line
between good ones, a binary file, an empty file, a file of only newlines, a last line without
its newline, symlink loops, a dangling symlink, a directory whose name matches the glob.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

from tests.support.logapp import docker_line, order_record

TEN_MB = 10 * 1024 * 1024


def _good(rng: random.Random, count: int, writer: str) -> bytes:
    return b"".join(
        docker_line(order_record(rng, seq, writer, 0.5), 1_700_000_000.0 + seq)
        for seq in range(count)
    )


def build(folder: Path, seed: int = 5) -> dict[str, int | None]:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    expected: dict[str, int | None] = {}

    def write(name: str, data: bytes, count: int | None) -> None:
        (folder / name).write_bytes(data)
        expected[name] = count

    malformed = [
        b'{"log": "unterminated\n',
        b"not json at all\n",
        b'{"log": {"nested": true}, "stream": 5}\n',
        b"[1, 2, 3]\n",
        b'{"log": "ok"}} trailing\n',
        b'{"log":"\\ud800 lone surrogate\\n","stream":"stdout"}\n',
    ]
    write("malformed.log", b"".join(malformed), len(malformed))
    utf8 = [b'{"log":"caf\xc3\xa9 \xff\xfe bad\\n","stream":"stdout"}\n', b"\xc3\x28 raw\n"]
    write("invalid-utf8.log", b"".join(utf8), len(utf8))
    write("nul.log", b'{"log":"a\x00b\\n","stream":"stdout"}\n\x00\x00\x00\n', 2)
    long_line = b'{"log":"' + b"x" * TEN_MB + b'\\n","stream":"stdout"}\n'
    write("long.log", _good(rng, 1, "long-a") + long_line + _good(rng, 1, "long-b"), 2)
    write("binary.log", bytes(rng.getrandbits(8) for _ in range(64 * 1024)), None)
    write("empty.log", b"", 0)
    write("newlines.log", b"\n" * 100, None)
    write("no-eol.log", _good(rng, 2, "no-eol") + b'{"log":"last, no newline"}', None)
    write("good.log", _good(rng, 500, "good"), 500)
    os.symlink(folder / "self-loop.log", folder / "self-loop.log")
    os.symlink(folder / "loop-b.log", folder / "loop-a.log")
    os.symlink(folder / "loop-a.log", folder / "loop-b.log")
    os.symlink(folder / "missing-target", folder / "dangling.log")
    (folder / "directory.log").mkdir()
    return expected
