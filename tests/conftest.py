"""Fixtures shared by every test layer. logtide's own pytest plugin (logtide.agent.testing) provides
``moto_aws`` and ``logtide_pipeline``; ``moto`` is the suite's shorter name for the former."""

from __future__ import annotations

import pytest

from tests.support.moto_server import MotoServer


@pytest.fixture
def moto(moto_aws: MotoServer) -> MotoServer:
    """A moto server on 127.0.0.1 (real HTTP), reset before each test."""
    return moto_aws
