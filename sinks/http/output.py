"""The ``http`` output: each batch becomes one request in the configured format, sent
through the shared transport; the batch is delivered only when the server answered 2xx.

A refused or failed request raises the transport's ``HttpError``; the engine asks the core's
``is_retryable`` (5xx, 429, 408 and network failures are retried with backoff, any other 4xx
drops the batch with one error line and a count). With ``body_key``/``headers_key`` each
record is its own request and a failure resends only the records from the failed one on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from logtide.agent.core.errors import DeliveryError, PluginError
from logtide.agent.core.events import Event
from logtide.agent.core.options import Option, Settings
from logtide.agent.core.plugins import OutputPlugin
from logtide.sinks.http import options as http_options
from logtide.sinks.http.payload import CONTENT_TYPES, build_body
from logtide.sinks.http.transport import HttpTransport


class HttpOutput(OutputPlugin[http_options.HttpSettings]):
    name = "http"
    description = "Send records to an HTTP endpoint (json, json_lines, json_stream, msgpack, gelf)."
    options: ClassVar[Sequence[Option]] = http_options.HTTP_OPTIONS

    def __init__(self, settings: Settings, context: Any) -> None:
        super().__init__(settings, context)
        config = self.config
        self._transport = HttpTransport(
            config,
            response_timeout=config.http_response_timeout,
            log_response_payload=config.log_response_payload,
        )
        self._content_type = CONTENT_TYPES[config.format]

    async def start(self) -> None:
        try:
            await self._transport.start()
        except PluginError as exc:
            raise PluginError(f"{self.location}: http: {exc}") from None

    async def stop(self) -> None:
        await self._transport.close()

    def _count(self, counter: str, value: int = 1) -> None:
        if value:
            self.context.metrics.add(self.context.instance, counter, value)

    def _headers(self, tag: str, extra: Sequence[tuple[str, str]] = ()) -> list[tuple[str, str]]:
        headers = list(extra)
        if self.config.header_tag:
            headers.append((self.config.header_tag, tag))
        headers.extend(self.config.headers)
        return headers

    async def _send(
        self, body: bytes, headers: list[tuple[str, str]], content_type: str | None
    ) -> None:
        config = self.config
        await self._transport.send(
            config.uri,
            body,
            method=config.http_method,
            content_type=content_type,
            headers=headers,
            unique_headers=not config.allow_duplicated_headers,
        )
        self._count("requests")

    async def flush(self, tag: str, events: list[Event]) -> None:
        config = self.config
        if config.body_accessor is not None:
            await self._flush_per_record(tag, events)
            return
        body = build_body(
            config.format, events, config.date_key, config.date_format, config.gelf_keys
        )
        if body.skipped:
            self._count("dropped_unencodable", body.skipped)
            self.context.logger.warning(
                "%s: %d record(s) not sent, they have no %s form (first: %s)",
                self.location,
                body.skipped,
                config.format,
                body.reason,
            )
        if not body.data:
            return
        await self._send(body.data, self._headers(tag), self._content_type)
        self._count("sent_records", len(events) - body.skipped)

    async def _flush_per_record(self, tag: str, events: list[Event]) -> None:
        """Fluent Bit's body_key/headers_key: one request per record, its body and headers
        read from the record; a record without them is left out and reported."""
        config = self.config
        assert config.body_accessor is not None and config.headers_accessor is not None
        skipped = 0
        for index, (_, record) in enumerate(events):
            body = config.body_accessor.get(record)
            headers = config.headers_accessor.get(record)
            if not isinstance(body, str | bytes) or not isinstance(headers, dict):
                skipped += 1
                continue
            pairs = [(str(k), str(v)) for k, v in headers.items() if isinstance(v, str)]
            data = body.encode() if isinstance(body, str) else body
            try:
                await self._send(data, self._headers(tag, pairs), None)
            except DeliveryError as exc:
                exc.remaining = events[index:]
                raise
            self._count("sent_records")
        if skipped:
            self._count("dropped_unencodable", skipped)
            self.context.logger.warning(
                "%s: %d record(s) not sent, no string at body_key %s or no map at headers_key %s",
                self.location,
                skipped,
                config.body_key,
                config.headers_key,
            )
