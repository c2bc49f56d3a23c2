"""The ``opensearch`` and ``es`` outputs: one ``_bulk`` request per flush (more only past
the size bound), read item by item.

``flush`` returns when every item is indexed, already there, or rejected for good (dropped,
counted under ``dropped_records``, one warning with the reason); items the answer marks as
transient (429, 5xx) are handed back to the engine's retry, alone, through
``RetryableDeliveryError.remaining``, so an accepted document is never sent twice by a
partial failure. A request that fails as a whole (unreachable, TLS, 401/403, an answer
that is not a bulk answer) is retried whole, with a line saying why.
"""

from __future__ import annotations

import dataclasses
import gzip
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from logtide.agent.core.errors import RetryableDeliveryError
from logtide.agent.core.events import Event
from logtide.agent.core.options import Option, Settings
from logtide.agent.core.plugins import OutputPlugin
from logtide.sinks.http import HttpError, HttpResponse, HttpTransport
from logtide.sinks.opensearch import options as os_options
from logtide.sinks.opensearch.bulk import BuildStats, BulkBuilder, BulkItem, body, split_requests
from logtide.sinks.opensearch.response import ItemResult, parse, summary

if TYPE_CHECKING:
    from logtide.sinks.opensearch.sigv4 import Signer

AUTH_HINT = {
    401: "check HTTP_User/HTTP_Passwd (or the AWS credentials with AWS_Auth)",
    403: "the user or role may not write to this index",
}


class _TooLarge(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class OpenSearchOutput(OutputPlugin[os_options.OpenSearchSettings]):
    name = "opensearch"
    description = "Index records into OpenSearch (bulk API); Amazon OpenSearch with AWS_Auth."
    options: ClassVar[Sequence[Option]] = os_options.OPENSEARCH_OPTIONS

    def __init__(self, settings: Settings, context: Any) -> None:
        super().__init__(settings, context)
        config = self.config
        self._builder = BulkBuilder(config)
        self._signer: Signer | None = None
        if config.aws_auth:
            # botocore (tens of MiB) is loaded only by the outputs that sign.
            from logtide.sinks.opensearch.sigv4 import Signer

            self._signer = Signer(config)
        # A signature covers the bytes on the wire, so with AWS_Auth the body is compressed
        # here, before signing, and the transport sends it as it is.
        sent_as_is = dataclasses.replace(config, compress=None) if self._signer else config
        self._transport = HttpTransport(sent_as_is, user_agent="Fluent-Bit")
        self._url = self._transport.base_url + config.bulk_path
        self._extra: list[tuple[str, str]] = []
        api_key = getattr(config, "http_api_key", None)
        if api_key and not config.http_user:
            self._extra.append(("Authorization", f"ApiKey {api_key}"))

    async def start(self) -> None:
        await self._transport.start()

    async def stop(self) -> None:
        await self._transport.close()

    def _count(self, counter: str, value: int) -> None:
        if value:
            self.context.metrics.add(self.context.instance, counter, value)

    async def flush(self, tag: str, events: list[Event]) -> None:
        stats = BuildStats()
        items = self._builder.build(tag, events, stats)
        if stats.missing_id:
            self._count("dropped_records", stats.missing_id)
            self.context.logger.warning(
                "%s: %d record(s) without a string Id_Key value skipped (Write_Operation %s)",
                self.location,
                stats.missing_id,
                self.config.write_operation,
            )
        pending = split_requests(items)
        retry: list[Event] = []
        while pending:
            request = pending[0]
            try:
                retry.extend(await self._send(request))
            except _TooLarge as exc:
                pending[:1] = self._smaller(request, exc.message)
                continue
            except RetryableDeliveryError as exc:
                later = [item.event for rest in pending for item in rest]
                raise RetryableDeliveryError(str(exc), remaining=retry + later) from None
            del pending[0]
        if retry:
            raise RetryableDeliveryError(
                f"{self.location}: {len(retry)} of {len(items)} documents refused for now; "
                "resending only those",
                remaining=retry,
            )

    def _smaller(self, request: list[BulkItem], message: str) -> list[list[BulkItem]]:
        """A request the server refused as too large (413), halved; a single document
        alone is dropped and counted, since it would be refused forever."""
        if len(request) > 1:
            half = len(request) // 2
            return [request[:half], request[half:]]
        self._count("dropped_records", 1)
        self.context.logger.warning(
            "%s: a %d-byte document dropped: the server takes no request that large (%s)",
            self.location,
            request[0].size,
            message,
        )
        return []

    async def _send(self, request: list[BulkItem]) -> list[Event]:
        """POST one bulk request; return the events of the items to send again."""
        config = self.config
        payload = body(request)
        if config.trace_output:
            sys.stdout.write(payload.decode("utf-8", "replace"))
            sys.stdout.flush()
        try:
            reply = await self._post(payload)
        except HttpError as exc:
            if exc.status == 413:
                raise _TooLarge(str(exc)) from None
            # Fluent Bit retries a refused request whatever its status (a wrong Path's 404,
            # an expired password's 401 are fixed without losing what waits).
            hint = AUTH_HINT.get(exc.status or 0)
            raise RetryableDeliveryError(
                f"{self.location}: {exc}" + (f" ({hint})" if hint else "")
            ) from None
        self._count("bulk_requests", 1)
        outcome = parse(reply.body, len(request), self._builder.action)
        self._count("sent_records", outcome.accepted)
        self._count("already_indexed", outcome.already_there)
        if outcome.rejected:
            self._reject(request, outcome.rejected)
        if outcome.retry:
            self._count("retried_items", len(outcome.retry))
            self.context.logger.warning(
                "%s: %d of %d documents to be sent again (%s)",
                self.location,
                len(outcome.retry),
                len(request),
                summary(outcome.retry),
            )
        return [request[result.index].event for result in outcome.retry]

    async def _post(self, payload: bytes) -> HttpResponse:
        path = self.config.bulk_path
        if self._signer is None:
            return await self._transport.send(
                path, payload, content_type="application/x-ndjson", headers=self._extra
            )
        headers = {"Content-Type": "application/x-ndjson", "User-Agent": "aws-fluent-bit-plugin"}
        if self.config.compress == "gzip":
            payload = gzip.compress(payload, compresslevel=6, mtime=0)
            headers["Content-Encoding"] = "gzip"
        # As Fluent Bit: the signed Host has no port (Amazon OpenSearch checks it so).
        host = self.config.tls_vhost or self.config.host
        signed = await self._signer.headers(self._url, host, headers, payload)
        return await self._transport.send(
            path, payload, headers=list(signed.items()), unique_headers=True
        )

    def _reject(self, request: list[BulkItem], rejected: list[ItemResult]) -> None:
        self._count("dropped_records", len(rejected))
        self.context.logger.warning(
            "%s: %d of %d documents rejected and dropped (%s)",
            self.location,
            len(rejected),
            len(request),
            summary(rejected),
        )
        if self.config.trace_error:
            for result in rejected:
                item = request[result.index]
                self.context.logger.error(
                    "%s: rejected %d %s: %s%s",
                    self.location,
                    result.status,
                    result.reason,
                    item.action.decode("utf-8", "replace"),
                    item.source.decode("utf-8", "replace").rstrip("\n"),
                )


class ElasticsearchOutput(OpenSearchOutput):
    """The same output under Elasticsearch's option set (``options.py`` lists the
    differences)."""

    config_class = os_options.EsSettings
    name = "es"
    description = "Index records into Elasticsearch (bulk API); Amazon OpenSearch with AWS_Auth."
    options: ClassVar[Sequence[Option]] = os_options.ES_OPTIONS
