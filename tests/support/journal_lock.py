"""For tests that stand for a killed agent and its restart in one process: the kernel drops a
killed process's ``flock``, but here the journal of the run that stands for the killed one
still holds it. Such tests leave the cloudwatch_logs journal's lock out; its own tests
(``tests/unit/sinks/cloudwatch_logs/test_journal_lock.py``) and the real-process ones keep it."""

from __future__ import annotations

import os

import pytest

from logtide.sinks.cloudwatch_logs import journal


def leave_out_the_journal_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal, "try_lock", lambda path, mode=0o644: os.open(os.devnull, 0))
