"""A moto server on 127.0.0.1 for the demo and the pytest plugin: real HTTP, fake
credentials, nothing leaves the machine. Needs ``logtide[demo]`` (moto), imported lazily."""

from __future__ import annotations

import os
import socket
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

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
def moto_server(certificate: tuple[str, str] | None = None) -> Iterator[MotoServer]:
    """Serve moto on a free loopback port for the duration of the block; over HTTPS with
    ``certificate`` (its certificate and key files), as Fluent Bit's AWS outputs need.

    Fake credentials are put in the environment (where unset) so AWS clients never look
    for real ones.
    """
    from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    for key, value in FAKE_CREDENTIALS.items():
        os.environ.setdefault(key, value)
    server = make_server(
        "127.0.0.1",
        0,
        DomainDispatcherApplication(create_backend_app),
        threaded=True,
        request_handler=MotoRequestHandler,
        ssl_context=certificate,
    )
    serving = threading.Thread(target=server.serve_forever, name="moto", daemon=True)
    serving.start()
    scheme = "https" if certificate else "http"
    try:
        yield MotoServer(endpoint=f"{scheme}://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        serving.join()
