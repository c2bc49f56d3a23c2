"""FailureNotice: one line when failures start or change, one when they end."""

from __future__ import annotations

import logging

import pytest

from logtide.agent.core.notices import FailureNotice


def test_one_line_per_episode_and_per_new_error(caplog: pytest.LogCaptureFixture) -> None:
    notice = FailureNotice(logging.getLogger("logtide.test"), "writing X", "Y stays")
    with caplog.at_level(logging.WARNING):
        notice.succeeded()
        for _ in range(3):
            notice.failed(OSError("locked"), 1.0)
        notice.failed(OSError("disk full"), 0.5)
        notice.succeeded()
        notice.succeeded()
        notice.failed(OSError("locked"), 1.0)
    assert [r.getMessage() for r in caplog.records] == [
        "writing X failed: locked; retrying every 1s (Y stays)",
        "writing X failed: disk full; retrying every 0.5s (Y stays)",
        "writing X works again",
        "writing X failed: locked; retrying every 1s (Y stays)",
    ]
