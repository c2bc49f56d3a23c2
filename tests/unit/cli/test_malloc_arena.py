"""The agent's threads share one malloc arena (each arena of its own kept ~8 MiB of peak RSS
in bench scenario ``b``). glibc's ``malloc_stats`` prints one block per arena."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

CHILD = """
import ctypes, sys, threading
from logtide.agent import cli
if sys.argv[1] == "one":
    cli._one_malloc_arena()
def allocate():
    blocks = [bytearray(64 * 1024) for _ in range(64)]
    del blocks
threads = [threading.Thread(target=allocate) for _ in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
ctypes.CDLL(None).malloc_stats()
"""


def _arenas(mode: str, **env: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, mode],
        capture_output=True,
        text=True,
        check=True,
        env={**{k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}, **env},
    )
    return sum(line.startswith("Arena ") for line in done.stderr.splitlines())


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc_stats")
def test_threads_allocate_from_one_arena() -> None:
    assert _arenas("default") > 1
    assert _arenas("one") == 1


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc_stats")
def test_an_operators_malloc_arena_max_is_kept() -> None:
    assert _arenas("one", MALLOC_ARENA_MAX="4") > 1
