"""A stand-in for the EC2 instance metadata service (IMDS) on 127.0.0.1, for the ``aws``
filter's tests: no real IMDS can be reached here (nor should a test ever try).

It runs in its own thread with its own event loop, so it serves both async unit tests and a
``logtide`` subprocess. It enforces IMDSv2's token rules as EC2 does: ``PUT
/latest/api/token`` needs ``X-aws-ec2-metadata-token-ttl-seconds`` (1..21600), a GET with
a missing (when ``require_token``), unknown or expired ``X-aws-ec2-metadata-token`` gets
401. ``token_lifetime`` caps how long tokens live, to prove a client fetches a new one.
``mode`` switches it to answering 500, to never answering (``timeout``) or to refusing
connections (``refuse``: the port is closed, and opened again on the next ``set_mode``).
Every request is recorded as ``(method, path, token header)``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

Mode = Literal["ok", "error", "timeout", "refuse"]
TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = "X-aws-ec2-metadata-token"
MAC = "0e:49:61:0f:c3:11"


def instance_metadata() -> dict[str, str]:
    """Paths (under /latest) and bodies of a typical EKS worker node."""
    document = {
        "accountId": "123456789012",
        "availabilityZone": "us-east-1a",
        "instanceId": "i-0a1b2c3d4e5f67890",
        "instanceType": "m5.large",
        "imageId": "ami-0abcdef1234567890",
        "privateIp": "192.168.12.34",
        "region": "us-east-1",
    }
    return {
        "meta-data/instance-id": "i-0a1b2c3d4e5f67890",
        "meta-data/placement/availability-zone": "us-east-1a",
        "meta-data/instance-type": "m5.large",
        "meta-data/local-ipv4": "192.168.12.34",
        "meta-data/mac": MAC,
        f"meta-data/network/interfaces/macs/{MAC}/vpc-id": "vpc-0123456789abcdef0",
        "meta-data/ami-id": "ami-0abcdef1234567890",
        "meta-data/hostname": "ip-192-168-12-34.ec2.internal",
        "dynamic/instance-identity/document": json.dumps(document, indent=2),
    }


@dataclass
class FakeImds:
    """State of the stand-in; change it while it runs (``set_mode`` for the mode)."""

    metadata: dict[str, str] = field(default_factory=instance_metadata)
    tags: dict[str, str] | None = None
    require_token: bool = True
    token_lifetime: float = 21600.0
    mode: Mode = "ok"
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    tokens: dict[str, float] = field(default_factory=dict)
    url: str = ""
    _counter: Iterator[int] = field(default_factory=itertools.count)
    _control: Any = None

    def gets(self) -> list[str]:
        return [path for method, path, _ in self.requests if method == "GET"]

    def puts(self) -> int:
        return sum(1 for method, _, _ in self.requests if method == "PUT")

    def set_mode(self, mode: Mode) -> None:
        self._control(mode)

    def expire_tokens(self) -> None:
        for token in self.tokens:
            self.tokens[token] = 0.0

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        token = request.headers.get(TOKEN_HEADER)
        self.requests.append((request.method, request.path, token))
        if self.mode == "timeout":
            await asyncio.sleep(3600)
        if self.mode == "error":
            return web.Response(status=500, text="Internal Server Error")
        if request.method == "PUT":
            return self._put_token(request)
        if request.method != "GET":
            return web.Response(status=405)
        if token is not None or self.require_token:
            expires = self.tokens.get(token or "")
            if expires is None or expires <= time.monotonic():
                return web.Response(status=401, text="Unauthorized")
        path = request.path.rstrip("/")
        if not path.startswith("/latest/"):
            return web.Response(status=404, text="Not Found")
        body = self._lookup(path[len("/latest/") :])
        if body is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(text=body)

    def _put_token(self, request: web.Request) -> web.Response:
        if request.path != "/latest/api/token":
            return web.Response(status=405)
        try:
            ttl = int(request.headers.get(TTL_HEADER, ""))
        except ValueError:
            return web.Response(status=400, text="Missing or invalid TTL header")
        if not 1 <= ttl <= 21600:
            return web.Response(status=400, text="Invalid TTL")
        token = f"token-{next(self._counter)}"
        self.tokens[token] = time.monotonic() + min(ttl, self.token_lifetime)
        return web.Response(text=token)

    def _lookup(self, path: str) -> str | None:
        if path == "meta-data/tags/instance":
            return "\n".join(self.tags) if self.tags is not None else None
        if path.startswith("meta-data/tags/instance/") and self.tags is not None:
            return self.tags.get(path.rsplit("/", 1)[1])
        return self.metadata.get(path)


@contextmanager
def fake_imds(state: FakeImds | None = None) -> Iterator[FakeImds]:
    """Serve ``state`` on 127.0.0.1 until the block ends."""
    imds = state or FakeImds()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", imds._handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    sites: list[web.TCPSite] = []
    port = [0]

    async def open_port() -> None:
        site = web.TCPSite(runner, "127.0.0.1", port[0])
        await site.start()
        server = site._server
        assert server is not None
        port[0] = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        sites.append(site)

    async def switch(mode: Mode) -> None:
        if mode == "refuse" and sites:
            await sites.pop().stop()
        elif mode != "refuse" and not sites:
            await open_port()
        imds.mode = mode

    def control(mode: Mode) -> None:
        asyncio.run_coroutine_threadsafe(switch(mode), loop).result(10)

    async def start() -> None:
        await runner.setup()
        await open_port()
        imds.url = f"http://127.0.0.1:{port[0]}"

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    imds._control = control
    thread = threading.Thread(target=serve, name="fake-imds", daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("IMDS stand-in did not start")
    try:
        yield imds
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
