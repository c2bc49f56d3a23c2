"""Fixtures the AWS output integration tests share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.fault_proxy import FaultProxy
from tests.support.moto_server import MotoServer


@pytest.fixture
def proxy(moto: MotoServer) -> Iterator[FaultProxy]:
    """A fault-injecting proxy on 127.0.0.1 in front of the moto server."""
    with FaultProxy(moto.endpoint) as running:
        yield running
