"""A stand-in for a node's kubelet: ``GET /pods`` over HTTPS on 127.0.0.1 with a bearer token.

No kubelet can run in a test, so this serves what the kubelet's read-only pod endpoint
answers on port 10250 (a ``PodList`` of the pods bound to this node) and nothing else: any
other path is a 404, so a filter that asks the API server by mistake fails its test. It
checks the service-account token, records every request, and can be switched to failing
(HTTP 503). TLS uses a throw-away CA from :func:`tests.support.fake_kube_api.make_tls`; an
unreachable kubelet is simulated by starting the stand-in later on a port chosen up front
(:func:`free_port`).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support.fake_kube_api import TOKEN, TlsFiles, make_tls, serve

__all__ = ["TOKEN", "FakeKubelet", "TlsFiles", "fake_kubelet", "free_port", "make_tls"]


@dataclass
class FakeKubelet:
    """State of the stand-in; mutate ``pods``/``fail`` while it runs."""

    pods: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    token: str = TOKEN
    fail: bool = False
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    url: str = ""

    def add_pod(self, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        self.pods[(meta["namespace"], meta["name"])] = pod

    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]

    @property
    def host_port(self) -> tuple[str, str]:
        host, port = self.url.removeprefix("https://").split(":")
        return host, port

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        auth = request.headers.get("Authorization")
        self.requests.append((request.path_qs, auth))
        if self.fail:
            return web.Response(status=503, text="kubelet unavailable")
        if auth != f"Bearer {self.token}":
            return web.Response(status=401, text="Unauthorized")
        if request.path != "/pods":
            return web.Response(status=404, text="404 page not found")
        items = list(self.pods.values())
        return web.json_response(
            {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": items}
        )


def free_port() -> int:
    """A port nothing listens on right now (for a kubelet that is not up yet)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def fake_kubelet(
    tls: TlsFiles, state: FakeKubelet | None = None, *, port: int = 0
) -> Iterator[FakeKubelet]:
    """Serve ``state`` over HTTPS on 127.0.0.1:``port`` until the block ends."""
    kubelet = state or FakeKubelet()
    with serve(kubelet._handle, tls, port=port, name="fake-kubelet") as url:
        kubelet.url = url
        yield kubelet
