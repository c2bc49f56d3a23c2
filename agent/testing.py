"""logtide's pytest plugin (entry point ``pytest11``): fixtures to test Fluent Bit-style
configs — parsers, stream tasks, routing, AWS outputs — from another project's tests.

- ``logtide_pipeline(config, format="classic")``: a running pipeline (in a background thread)
  with ``push``, ``output(name).wait_for_sync(n)`` and ``drain()``; stopped at teardown.
- ``moto_aws``: a moto server on 127.0.0.1 (real HTTP), reset for each test, with
  ``endpoint``, ``region``, ``client(service)`` and ``output_settings()`` to paste into an
  output section. Needs ``logtide[demo]`` (moto); imported only when the fixture is used.
"""

from __future__ import annotations

import os
import socket
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import pytest

from agent.api import Pipeline, ThreadedPipeline

REGION = "us-east-1"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class MotoServer:
    """A moto server reached over real HTTP on 127.0.0.1."""

    endpoint: str
    region: str = REGION

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, region_name=self.region, endpoint_url=self.endpoint)

    def output_settings(self) -> dict[str, str]:
        """``endpoint`` and ``region`` for an s3/cloudwatch_logs/kinesis_firehose output."""
        return {"endpoint": self.endpoint, "region": self.region}

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=10).close()


@contextmanager
def moto_server() -> Iterator[MotoServer]:
    """Start moto on a free loopback port for the duration of the block.

    Fake credentials are put in the environment (where unset) so AWS clients never look
    for real ones.
    """
    from moto.server import ThreadedMotoServer

    for key, value in FAKE_CREDENTIALS.items():
        os.environ.setdefault(key, value)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield MotoServer(endpoint=f"http://127.0.0.1:{port}")
    finally:
        server.stop()


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
