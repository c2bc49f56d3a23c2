"""Another process holding (or trying) a file's ``flock``: the kernel's locks are per open
file, so only a process of its own shows what a second agent would meet."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# Takes the lock without waiting, says whether it got it, then holds it until its stdin
# closes.
_OTHER = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
except BlockingIOError:
    print("refused", flush=True)
    sys.exit(0)
print("took", flush=True)
sys.stdin.read()
"""


def hold(lock_file: Path) -> subprocess.Popen[str]:
    """A process holding ``lock_file``'s lock until ``communicate("")`` (asserted taken)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _OTHER, str(lock_file)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "took"
    return proc


def other_gets_it(lock_file: Path) -> bool:
    """Whether another process can take ``lock_file``'s lock now."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _OTHER, str(lock_file)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    answer = proc.stdout.readline().strip()
    proc.communicate("")
    return answer == "took"
