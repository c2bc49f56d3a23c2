"""The ``journalctl`` child that reads the journal for the input.

``journalctl --output=export`` streams entries in journal order with their cursors; libsystemd
inside it follows rotation, vacuum and new files, and skips a corrupt file with one message
on stderr. The input owns one child at a time: it starts it at the stored cursor, reads its
stdout, relays its stderr as warnings (each distinct message once), and kills it on stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from collections.abc import Sequence
from typing import Any

from logtide.agent.core.errors import PluginError
from logtide.agent.core.plugins import Spawn

JOURNALCTL = "journalctl"
READ_BLOCK = 1 << 20
# journalctl writes export text to a pipe; a larger limit lets one read take a big block.
PIPE_LIMIT = 4 << 20
# journalctl follows a skipped file's message with how to debug journalctl itself: the
# message alone is the one line the user needs.
_HINT = "Use SYSTEMD_LOG_LEVEL="


def journalctl_path() -> str:
    """The journalctl binary on PATH."""
    found = shutil.which(JOURNALCTL)
    if not found:
        raise PluginError(
            "systemd: journalctl not found on PATH (install the 'systemd' package; the "
            "logtide image carries it)"
        )
    return found


def command(
    binary: str,
    path: str | None,
    matches: Sequence[tuple[str, str]],
    *,
    cursor: str | None,
    follow: bool,
    last: int | None = None,
) -> list[str]:
    """The argument list. ``--cursor`` (not ``--after-cursor``) starts *at* the stored entry,
    so the reader can tell whether that entry still exists: ``--after-cursor`` skips one entry
    blindly, which loses one when the stored entry was vacuumed."""
    argv = [binary, "--output=export", "--quiet", "--no-pager"]
    if path:
        argv.append(f"--directory={path}")
    if cursor:
        argv.append(f"--cursor={cursor}")
        if follow:
            argv.append("--no-tail")
    elif last is not None:
        argv.append(f"--lines={last}")
    elif follow:
        argv.append("--no-tail")
    if follow:
        argv.append("--follow")
    argv.extend(match_arguments(matches))
    return argv


def match_arguments(matches: Sequence[tuple[str, str]]) -> list[str]:
    """Every filter ORed (journalctl's ``+``), as Fluent Bit's default Or."""
    argv: list[str] = []
    for index, (name, value) in enumerate(matches):
        if index:
            argv.append("+")  # journalctl's OR between terms
        argv.append(f"{name}={value}")
    return argv


async def _output(argv: Sequence[str], timeout: float) -> bytes | None:
    """What a one-off journalctl run prints, or None when it takes longer than ``timeout``
    (it is killed and reaped then)."""
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        return None
    return out


async def field_values(binary: str, path: str | None, name: str, timeout: float = 10.0) -> set[str]:
    """Every value ``name`` has in the journal (``journalctl --field``, read from the journal's
    field index, cheap); empty when journalctl cannot tell in ``timeout`` seconds."""
    argv = [binary, f"--field={name}", "--quiet", "--no-pager"]
    if path:
        argv.append(f"--directory={path}")
    out = await _output(argv, timeout)
    return set() if out is None else set(out.decode(errors="replace").splitlines())


async def last_cursor(
    binary: str, path: str | None, matches: Sequence[tuple[str, str]], timeout: float = 30.0
) -> str | None:
    """The cursor of the journal's last entry that the filters match (``None``: no entry)."""
    argv = command(binary, path, matches, cursor=None, follow=False, last=1)
    out = await _output(argv, timeout)
    if out is None:
        raise PluginError("systemd: journalctl did not find the journal's end in time")
    for line in out.split(b"\n"):
        if line.startswith(b"__CURSOR="):
            return line[len(b"__CURSOR=") :].decode(errors="replace")
    return None


class Journalctl:
    """One running child: ``read`` blocks of its stdout, ``stop`` it."""

    def __init__(self, argv: list[str], logger: logging.Logger, spawn: Spawn) -> None:
        self.argv = argv
        self.logger = logger
        self.spawn = spawn
        self._proc: asyncio.subprocess.Process | None = None
        self._stderr: Any = None
        self.reported: set[str] = set()

    async def start(self) -> None:
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                limit=PIPE_LIMIT,
                start_new_session=True,
            )
        except OSError as exc:
            raise PluginError(f"systemd: cannot run {self.argv[0]}: {exc}") from None
        assert self._proc.stderr is not None
        self._stderr = self.spawn(self._relay(self._proc.stderr), "systemd.journalctl-stderr")

    async def read(self, timeout: float | None = None) -> bytes | None:
        """The next block of stdout; ``b""`` at its end; ``None`` if ``timeout`` passed."""
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        read = proc.stdout.read(READ_BLOCK)
        if timeout is None:
            return await read
        try:
            return await asyncio.wait_for(read, timeout)
        except TimeoutError:
            return None

    async def _relay(self, stream: asyncio.StreamReader) -> None:
        """journalctl's own messages (a corrupt or truncated file it skips, a bad cursor):
        one warning each, once per distinct text."""
        async for raw in stream:
            # Its messages may arrive without their newline: split where the next begins.
            text = raw.decode(errors="replace").replace("file.Journal", "file.\nJournal")
            for line in text.split("\n"):
                message = line.strip()
                if message.startswith(_HINT):
                    continue
                if message and message not in self.reported:
                    self.reported.add(message)
                    self.logger.warning("systemd: journalctl: %s", message)

    async def wait(self) -> int:
        """The exit status, once stdout and stderr are read to their end."""
        proc = self._proc
        assert proc is not None
        if self._stderr is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._stderr
        return await proc.wait()

    async def stop(self) -> None:
        proc = self._proc
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        if self._stderr is not None:
            self._stderr.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._stderr
            self._stderr = None
