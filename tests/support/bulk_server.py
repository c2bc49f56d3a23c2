"""A small ``_bulk`` endpoint on 127.0.0.1 for the opensearch/es output's tests.

No OpenSearch or Elasticsearch server runs on these machines. This one enforces the bulk
API's documented protocol instead of imitating a cluster: ``POST [/<path>]/_bulk`` with
``Content-Type: application/x-ndjson`` (optionally ``Content-Encoding: gzip``), a body of
newline-terminated pairs of an action line (``{"create"|"index"|"update": {"_index": ...,
"_id": ...}}``) and a source line, the body ending with a newline; the answer is
``{"took", "errors", "items": [{"<action>": {"_index", "_id", "status", "result"|"error"}}]}``
in request order, with 409 for a ``create`` whose ``_id`` exists. A malformed request gets
400 with an error object, as the servers answer it.

Tests choose failures: ``reject`` (a callable given the index and source of each item, that
returns a status such as 429 or 400 for items to refuse), ``status`` (answer every request
with it), ``max_body`` (413 for a larger body), ``require_basic`` (401 without those credentials), ``sigv4`` (credentials,
region and service: the request's signature is recomputed with botocore's ``SigV4Auth``
from what was received, and a mismatch is 403). ``stop()``/``start()`` take the port down
and up again; ``tls`` (``tests.support.fake_kube_api.make_tls``) serves HTTPS.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import socket
import ssl
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from tests.support.fake_kube_api import TlsFiles

Reject = Callable[[str, dict[str, Any]], int | None]


@dataclass
class SigV4Check:
    credentials: Any
    region: str
    service: str
    checked: int = 0
    failures: list[str] = field(default_factory=list)
    #: The access key of each request's credential scope.
    keys: list[str] = field(default_factory=list)
    #: Refuse (403) a request whose signature is not these credentials'.
    enforce: bool = True

    def verify(self, method: str, path: str, headers: dict[str, str], payload: bytes) -> str:
        """'' when the request's signature is botocore's for these credentials, else why."""
        authorization = headers.get("authorization", "")
        parts = dict(
            part.strip().split("=", 1) for part in authorization.split(" ", 1)[-1].split(",")
        )
        if not authorization.startswith("AWS4-HMAC-SHA256") or "Signature" not in parts:
            return f"no SigV4 Authorization header: {authorization!r}"
        names = parts["SignedHeaders"].split(";")
        signed = {name: headers[name] for name in names if name in headers}
        if len(signed) != len(names):
            return f"signed headers missing from the request: {names}"
        request = AWSRequest(
            method=method, url=f"http://{headers['host']}{path}", data=payload, headers=signed
        )
        request.context["timestamp"] = headers["x-amz-date"]
        auth = SigV4Auth(self.credentials, self.service, self.region)
        if ";".join(sorted(auth.headers_to_sign(request))) != parts["SignedHeaders"]:
            return f"SignedHeaders {parts['SignedHeaders']} are not botocore's"
        canonical = auth.canonical_request(request)
        expected = auth.signature(auth.string_to_sign(request, canonical), request)
        scope = f"{self.credentials.access_key}/{headers['x-amz-date'][:8]}/"
        scope += f"{self.region}/{self.service}/aws4_request"
        if parts.get("Credential") != scope:
            return f"credential scope {parts.get('Credential')} is not {scope}"
        if expected != parts["Signature"]:
            return "signature mismatch"
        return ""


class BulkServer:
    def __init__(self, port: int = 0, tls: TlsFiles | None = None) -> None:
        self.tls = tls
        self.docs: dict[str, dict[str, dict[str, Any]]] = {}
        self.indexed: Counter[tuple[str, str]] = Counter()
        self.requests: list[dict[str, str]] = []
        self.reject: Reject | None = None
        self.status: int | None = None
        self.max_body: int | None = None
        self.require_basic: tuple[str, str] | None = None
        self.sigv4: SigV4Check | None = None
        self.lock = threading.Lock()
        self._auto_id = 0
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._open: set[Any] = set()

    @property
    def port(self) -> int:
        return self._port

    def start(self) -> BulkServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                with owner.lock:
                    owner._open.add(self.connection)

            def finish(self) -> None:
                with owner.lock:
                    owner._open.discard(self.connection)
                super().finish()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, answer = owner.handle(self.path, headers, raw)
                data = orjson.dumps(answer)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client killed mid-request (the kill -9 tests): nothing to report

        self._server = Server(("127.0.0.1", self._port), Handler)
        self._server.daemon_threads = True
        if self.tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.tls.cert_file, self.tls.key_file)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close the port and every kept-alive connection: a client sees the server gone."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self.lock:
            connections, self._open = list(self._open), set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def documents(self, index: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [
                doc
                for name, docs in self.docs.items()
                if index is None or name == index
                for doc in docs.values()
            ]

    def _error(self, status: int, kind: str, reason: str) -> tuple[int, dict[str, Any]]:
        return status, {"error": {"type": kind, "reason": reason}, "status": status}

    def handle(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, Any]:
        with self.lock:
            self.requests.append(headers)
        if self.status is not None:
            return self._error(self.status, "test_failure", "chosen by the test")
        if self.max_body is not None and len(raw) > self.max_body:
            return 413, {"message": "Request size exceeded"}
        if not path.split("?")[0].rstrip("/").endswith("/_bulk"):
            return self._error(404, "not_found", f"no handler for {path}")
        if self.require_basic is not None:
            token = base64.b64encode(":".join(self.require_basic).encode()).decode()
            if headers.get("authorization") != f"Basic {token}":
                return self._error(401, "security_exception", "missing authentication")
        if self.sigv4 is not None:
            problem = self.sigv4.verify("POST", path, headers, raw)
            self.sigv4.keys.append(
                headers.get("authorization", "").partition("Credential=")[2][:20]
            )
            self.sigv4.checked += 1
            if problem:
                self.sigv4.failures.append(problem)
                if self.sigv4.enforce:
                    return 403, {"message": problem}
        if headers.get("content-type", "").split(";")[0] != "application/x-ndjson":
            return self._error(406, "content_type", "Content-Type must be application/x-ndjson")
        if headers.get("content-encoding") == "gzip":
            raw = gzip.decompress(raw)
        if not raw.endswith(b"\n"):
            return self._error(400, "illegal_argument_exception", "must end with a newline")
        lines = raw[:-1].split(b"\n")
        if len(lines) % 2:
            return self._error(400, "illegal_argument_exception", "action without a source")
        items = []
        for action_line, source_line in zip(lines[0::2], lines[1::2], strict=True):
            try:
                action = orjson.loads(action_line)
                source = orjson.loads(source_line)
            except orjson.JSONDecodeError as exc:
                return self._error(400, "x_content_parse_exception", str(exc))
            if not isinstance(action, dict) or len(action) != 1:
                return self._error(400, "illegal_argument_exception", "bad action line")
            ((op, meta),) = action.items()
            if op not in ("create", "index", "update") or "_index" not in meta:
                return self._error(400, "illegal_argument_exception", f"bad action {op}")
            items.append({op: self._apply(op, meta, source)})
        errors = any("error" in next(iter(item.values())) for item in items)
        return 200, {"took": 1, "errors": errors, "items": items}

    def _apply(self, op: str, meta: dict[str, Any], source: dict[str, Any]) -> dict[str, Any]:
        index = str(meta["_index"])
        doc_id = meta.get("_id")
        if op == "update":
            if doc_id is None or "doc" not in source:
                return {
                    "_index": index,
                    "status": 400,
                    "error": {
                        "type": "action_request_validation_exception",
                        "reason": "update needs _id and doc",
                    },
                }
            source = source["doc"]
        chosen = self.reject(index, source) if self.reject is not None else None
        if chosen:
            kind = (
                "es_rejected_execution_exception"
                if chosen == 429
                else ("mapper_parsing_exception" if chosen == 400 else "test_failure")
            )
            return {
                "_index": index,
                "status": chosen,
                "error": {"type": kind, "reason": f"rejected by the test ({chosen})"},
            }
        with self.lock:
            docs = self.docs.setdefault(index, {})
            if doc_id is None:
                self._auto_id += 1
                doc_id = f"auto-{self._auto_id}"
            doc_id = str(doc_id)
            if op == "create" and doc_id in docs:
                return {
                    "_index": index,
                    "_id": doc_id,
                    "status": 409,
                    "error": {
                        "type": "version_conflict_engine_exception",
                        "reason": f"[{doc_id}]: version conflict, document already exists",
                    },
                }
            created = doc_id not in docs
            docs[doc_id] = source
            self.indexed[(index, doc_id)] += 1
        return {
            "_index": index,
            "_id": doc_id,
            "status": 201 if created else 200,
            "result": "created" if created else "updated",
        }
