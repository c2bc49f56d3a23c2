"""A fake Kubernetes API server on 127.0.0.1 for the kubernetes filter.

It runs in its own thread with its own event loop, so it serves both async unit tests and a
``logtide`` subprocess. It serves the pod and namespace objects it is given, checks the
bearer token, records every request, and can be switched to failing (HTTP 503) or slow.
TLS uses a throw-away CA generated per server with the ``cryptography`` package.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

TOKEN = "test-service-account-token"


@dataclass
class TlsFiles:
    ca_file: Path
    cert_file: Path
    key_file: Path


def make_tls(
    directory: Path, names: tuple[str, ...] = ("localhost", "kubernetes.default.svc", "127.0.0.1")
) -> TlsFiles:
    """A CA and a server certificate for ``names`` (DNS names or IP addresses), as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "logtide test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([_general_name(name) for name in names]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(directory / "ca.crt", directory / "server.crt", directory / "server.key")
    files.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


def _general_name(name: str) -> Any:
    from cryptography import x509

    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


@dataclass
class FakeKubeApi:
    """State of the fake server; mutate ``pods``/``namespaces``/``fail`` while it runs."""

    pods: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    namespaces: dict[str, dict[str, Any]] = field(default_factory=dict)
    token: str = TOKEN
    fail: bool = False
    delay: float = 0.0
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    url: str = ""

    def add_pod(self, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        self.pods[(meta["namespace"], meta["name"])] = pod

    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.path_qs, request.headers.get("Authorization")))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail:
            return web.json_response({"kind": "Status", "code": 503}, status=503)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"kind": "Status", "code": 401}, status=401)
        parts = request.path.strip("/").split("/")
        if parts == ["api", "v1", "pods"]:
            selector = request.query.get("fieldSelector", "")
            node = selector.split("=", 1)[1] if selector.startswith("spec.nodeName=") else None
            return web.json_response(self._pod_list(node))
        if len(parts) == 6 and parts[:3] == ["api", "v1", "namespaces"] and parts[4] == "pods":
            pod = self.pods.get((parts[3], parts[5]))
            if pod is not None:
                return web.json_response(pod)
        if len(parts) == 4 and parts[:3] == ["api", "v1", "namespaces"]:
            namespace = self.namespaces.get(parts[3])
            if namespace is not None:
                return web.json_response(namespace)
        return web.json_response({"kind": "Status", "code": 404}, status=404)

    def _pod_list(self, node: str | None) -> dict[str, Any]:
        items = [
            pod
            for pod in self.pods.values()
            if node is None or pod.get("spec", {}).get("nodeName") == node
        ]
        return {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": items}


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@contextmanager
def serve(
    handle: Handler, tls: TlsFiles | None = None, *, port: int = 0, name: str = "fake-kube"
) -> Iterator[str]:
    """Serve ``handle`` for every GET on 127.0.0.1:``port`` (HTTPS when ``tls`` is given) in a
    thread of its own until the block ends; yields the base URL."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    runner_box: list[web.AppRunner] = []
    url_box: list[str] = []

    async def start() -> None:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        context = None
        if tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(tls.cert_file, tls.key_file)
        site = web.TCPSite(runner, "127.0.0.1", port, ssl_context=context)
        await site.start()
        server = site._server
        assert server is not None
        bound = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        url_box.append(f"{'https' if tls else 'http'}://127.0.0.1:{bound}")
        runner_box.append(runner)

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner_box[0].cleanup())
        loop.close()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError(f"{name} did not start")
    try:
        yield url_box[0]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


@contextmanager
def fake_kube_api(
    state: FakeKubeApi | None = None, tls: TlsFiles | None = None
) -> Iterator[FakeKubeApi]:
    """Serve ``state`` on 127.0.0.1 (HTTPS when ``tls`` is given) until the block ends."""
    api = state or FakeKubeApi()
    with serve(api._handle, tls, name="fake-kube-api") as url:
        api.url = url
        yield api
