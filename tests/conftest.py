"""Fixtures shared by every test layer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.moto_server import MotoServer, moto_server


@pytest.fixture(scope="session")
def moto_session() -> Iterator[MotoServer]:
    with moto_server() as server:
        yield server


@pytest.fixture
def moto(moto_session: MotoServer) -> Iterator[MotoServer]:
    """A moto server on 127.0.0.1, reset before each test."""
    moto_session.reset()
    yield moto_session
