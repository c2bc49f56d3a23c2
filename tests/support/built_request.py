"""What a botocore client would send, caught before it is sent: no server, no network."""

from __future__ import annotations

from typing import Any

import pytest


class Built(Exception):
    """Raised by :func:`stop_before_send` with the request the client prepared."""

    def __init__(self, request: Any) -> None:
        super().__init__("built")
        self.request = request


def stop_before_send(request: Any, **_: Any) -> None:
    """A ``before-send`` handler: the client raises :class:`Built` instead of sending."""
    raise Built(request)


def offline_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fixed keys from the environment, no profile, no instance metadata lookup."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
