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

import gzip
import sys
from collections.abc import Sequence
from typing import Any, ClassVar

from logtide.agent.core.errors import RetryableDeliveryError
from logtide.agent.core.events import Event
from logtide.agent.core.options import Option, Settings
from logtide.agent.core.plugins import OutputPlugin
from logtide.sinks.opensearch import options as os_options
from logtide.sinks.opensearch.bulk import BuildStats, BulkBuilder, BulkItem, body, split_requests
from logtide.sinks.opensearch.response import ItemResult, parse, summary
from logtide.sinks.opensearch.sender import Sender
from logtide.sinks.opensearch.sigv4 import Signer

AUTH_HINT = {
    401: "check HTTP_User/HTTP_Passwd (or the AWS credentials with AWS_Auth)",
    403: "the user or role may not write to this index",
}


class OpenSearchOutput(OutputPlugin[os_options.OpenSearchSettings]):
    name = "opensearch"
    description = "Index records into OpenSearch (bulk API); Amazon OpenSearch with AWS_Auth."
    options: ClassVar[Sequence[Option]] = os_options.OPENSEARCH_OPTIONS

    def __init__(self, settings: Settings, context: Any) -> None:
        super().__init__(settings, context)
        config = self.config
        host, port, tls = config.target
        self._host = host
        self._url = f"{'https' if tls else 'http'}://{host}:{port}{config.bulk_path}"
        self._builder = BulkBuilder(config)
        self._sender = Sender(tls, config.tls_verify, config.tls_ca_file)
        self._signer = Signer(config) if config.aws_auth else None

    async def stop(self) -> None:
        await self._sender.close()

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
        requests = split_requests(items)
        retry: list[Event] = []
        for number, request in enumerate(requests):
            try:
                retry.extend(await self._send(request))
            except RetryableDeliveryError as exc:
                later = [item.event for rest in requests[number:] for item in rest]
                raise RetryableDeliveryError(str(exc), remaining=retry + later) from None
        if retry:
            raise RetryableDeliveryError(
                f"{self.location}: {len(retry)} of {len(items)} documents refused for now; "
                "resending only those",
                remaining=retry,
            )

    async def _send(self, request: list[BulkItem]) -> list[Event]:
        """POST one bulk request; return the events of the items to send again."""
        config = self.config
        payload = body(request)
        if config.trace_output:
            sys.stdout.write(payload.decode("utf-8", "replace"))
            sys.stdout.flush()
        headers = {"Content-Type": "application/x-ndjson", "User-Agent": "Fluent-Bit"}
        if config.gzip:
            payload = gzip.compress(payload, 6)
            headers["Content-Encoding"] = "gzip"
        if self._signer is not None:
            headers["User-Agent"] = "aws-fluent-bit-plugin"
            headers = await self._signer.headers(self._url, self._host, headers, payload)
        elif config.authorization:
            headers["Authorization"] = config.authorization
        reply = await self._sender.post(self._url, payload, headers)
        self._count("bulk_requests", 1)
        if reply.status not in (200, 201):
            text = " ".join(reply.body[:300].decode("utf-8", "replace").split())
            hint = AUTH_HINT.get(reply.status)
            raise RetryableDeliveryError(
                f"{self.location}: {self._url} answered HTTP {reply.status}"
                + (f" ({hint})" if hint else "")
                + (f": {text}" if text else "")
            )
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
