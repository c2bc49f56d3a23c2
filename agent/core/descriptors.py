"""The process's open-file limit, which the parts that hold many descriptors share: the
monitoring server's connections and the files the tail follows each keep the others
room."""

from __future__ import annotations

import contextlib
import resource


def open_file_limit() -> int | None:
    """The soft ``RLIMIT_NOFILE``; None when there is none."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else soft


def raise_open_file_limit() -> None:
    """The soft limit up to the hard one, as Go programs do: a shell's soft 1024 runs out
    with a few hundred followed files. For the executable only; an application embedding
    logtide keeps its own limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
