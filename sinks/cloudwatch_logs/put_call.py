"""PutLogEvents, the one call this output makes per batch, built and signed without going
through the client's per-call machinery.

A client call runs ~20 event handlers, serialises its parameters, rebuilds its user agent
twice and parses the answer through the service model: ~1.2 ms of CPU a request on the
development VM, beside what the HTTP exchange and the body's SigV4 hash cost (a 1 MiB
request took 3.4 ms through the client; a 741 KB one 2.2 ms through the client's pool and
1.1 ms on a connection of the output's own). Here the body is the journaled ``logEvents``
bytes inside a fixed frame; the request is the same (URL, target, content type, SigV4
signature with the session's refreshable credentials). It goes out on the output's own
connection (:mod:`logtide.sinks.aws.wire`, signed by :mod:`logtide.sinks.aws.sigv4`), or on
the client's pool where that one must carry it (a proxy, a client certificate). Answers are
read by botocore's parser for the service's protocol, and an error answer raises the
``ClientError`` the client would raise, so retry decisions do not change.

The group and stream calls, and the recovery's reads, stay on the client.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import orjson
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, prepare_request_dict
from botocore.exceptions import ClientError, NoCredentialsError
from botocore.parsers import create_parser

from logtide.sinks.aws.sigv4 import Signer
from logtide.sinks.aws.wire import WireConnection

OPERATION = "PutLogEvents"


class PutLogEventsCall:
    """``call(group, stream, log_events)``: one blocking PutLogEvents (on the call thread)
    whose ``logEvents`` are given as their encoded JSON array; returns the parsed answer.
    With ``wire`` (a connection to the client's endpoint) the request goes out on it."""

    def __init__(
        self,
        client: Any,
        credentials: Any,
        user_agent: str,
        log_format: str | None,
        wire: WireConnection | None = None,
    ) -> None:
        meta = client.meta
        model = meta.service_model
        operation = model.operation_model(OPERATION)
        self._output_shape = operation.output_shape
        self._parser = create_parser(model.protocol)
        self._credentials = credentials
        self._signer_name = model.signing_name
        self._region = meta.region_name
        # The client's own endpoint and pool: botocore keeps no public handle on them.
        self._endpoint = client._endpoint
        self._http = self._endpoint.http_session
        self._wire = wire
        self._signer = Signer(self._signer_name, self._region)
        url_parts: dict[str, Any] = {"url_path": operation.http["requestUri"], "query_string": ""}
        prepare_request_dict(url_parts, meta.endpoint_url)
        self._url = url_parts["url"]
        self._path = urlsplit(self._url).path or "/"
        self._signed_headers = {
            "X-Amz-Target": f"{model.metadata['targetPrefix']}.{OPERATION}",
            "Content-Type": f"application/x-amz-json-{model.metadata['jsonVersion']}",
        }
        if log_format:
            self._signed_headers["x-amzn-logs-format"] = log_format
        self._user_agent = user_agent

    def __call__(self, group: str, stream: str, log_events: bytes) -> dict[str, Any]:
        # The body in three pieces around the (journaled) events, which are neither copied
        # nor joined on the output's own connection.
        body = (
            b'{"logGroupName":%b,"logStreamName":%b,"logEvents":'
            % (orjson.dumps(group), orjson.dumps(stream)),
            log_events,
            b"}",
        )
        credentials = self._credentials.get_frozen_credentials() if self._credentials else None
        if credentials is None:
            raise NoCredentialsError()
        if self._wire is not None:
            headers = dict(self._signed_headers)
            headers.update(
                self._signer.sign(credentials, self._wire.host, self._path, headers, body)
            )
            headers["User-Agent"] = self._user_agent
            status, answer_headers, content = self._wire.post(self._path, headers, body)
        else:
            request = AWSRequest(
                "POST",
                self._url,
                data=b"".join(body),
                headers={**self._signed_headers, "User-Agent": self._user_agent},
            )
            SigV4Auth(credentials, self._signer_name, self._region).add_auth(request)
            # The endpoint's own preparation puts header values in UTF-8: http.client would
            # take text for Latin-1 and refuse an extra_user_agent outside it.
            response = self._http.send(self._endpoint.prepare_request(request))
            status, answer_headers, content = (
                response.status_code,
                response.headers,
                response.content,
            )
        parsed: dict[str, Any] = self._parser.parse(
            {"status_code": status, "headers": answer_headers, "body": content},
            self._output_shape,
        )
        if status >= 300:
            raise ClientError(parsed, OPERATION)
        return parsed
