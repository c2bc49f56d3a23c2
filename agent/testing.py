"""logtide's pytest plugin (entry point ``pytest11``): fixtures to test Fluent Bit-style
configs — parsers, stream tasks, routing, AWS outputs — from another project's tests.

- ``logtide_pipeline(config, format="classic")``: a running pipeline (in a background thread)
  with ``push``, ``output(name).wait_for_sync(n)`` and ``drain()``; stopped at teardown. A
  config that cannot start raises its ``LogtideError`` from the call, so the test fails there
  and teardown has nothing to wait for.
- ``moto_aws``: a moto server on 127.0.0.1 (real HTTP), reset for each test, with
  ``endpoint``, ``region``, ``client(service)`` and ``output_settings()`` to paste into an
  output section. Needs ``logtide[demo]`` (moto); imported only when the fixture is used.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Literal

import pytest

from logtide.agent.api import Pipeline, ThreadedPipeline
from logtide.agent.companions.local_aws import REGION, MotoServer, free_port, moto_server

__all__ = ["REGION", "MotoServer", "free_port", "logtide_pipeline", "moto_aws", "moto_server"]


@pytest.fixture(scope="session")
def _logtide_moto_server() -> Iterator[MotoServer]:
    with moto_server() as server:
        yield server


@pytest.fixture
def moto_aws(_logtide_moto_server: MotoServer) -> MotoServer:
    """A moto server on 127.0.0.1, emptied before each test."""
    _logtide_moto_server.reset()
    return _logtide_moto_server


PipelineFactory = Callable[..., ThreadedPipeline]


@pytest.fixture
def logtide_pipeline() -> Iterator[PipelineFactory]:
    """Start pipelines from config text (or a path); every one is drained at teardown."""
    with ExitStack() as stack:

        def start(config: str, format: Literal["classic", "yaml"] = "classic") -> ThreadedPipeline:
            if "\n" not in config and os.path.exists(config):
                pipeline = Pipeline.from_file(config)
            else:
                pipeline = Pipeline.from_string(config, format)
            return stack.enter_context(pipeline.run_in_thread())

        yield start
