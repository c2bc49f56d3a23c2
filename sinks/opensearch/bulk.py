"""Events -> ``_bulk`` items (an action line and a source line each) -> request bodies.

Each document is the record with ``Time_Key`` (and ``Tag_Key``) in front, as Fluent Bit
writes it; a key the record already has keeps the record's value, so no document holds a
key twice. The index comes from ``Logstash_Format`` (prefix, or the ``Logstash_Prefix_Key``
value, and the record's date) or ``Index``. ``_id`` is the ``Id_Key`` value, or with
``Generate_ID`` a hash of the document and the event's exact time: the same event always
gets the same ``_id``, so a re-send after a crash meets the copy already indexed (a 409 for
``create``, an overwrite for ``index``) instead of adding a second one.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

from logtide.agent.core.events import Event
from logtide.agent.core.record_accessor import RecordAccessor, Template
from logtide.agent.core.serialize import dumps
from logtide.agent.core.timestamps import clamp_time
from logtide.sinks.opensearch.options import OpenSearchSettings

# Bodies stay under this (before compression); Amazon OpenSearch Service's smallest
# instance types take 10 MiB. A single larger item goes alone.
MAX_REQUEST_BYTES = 5 * 1024 * 1024
MAX_PREFIX = 128


@dataclass(slots=True)
class BulkItem:
    """One document's two lines and the event it came from."""

    action: bytes
    source: bytes
    event: Event

    @property
    def size(self) -> int:
        return len(self.action) + len(self.source)


@dataclass(slots=True)
class BuildStats:
    missing_id: int = 0


def _replace_dots(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k).replace(".", "_"): _replace_dots(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_dots(v) for v in value]
    return value


def _split_time(timestamp: float) -> tuple[int, int]:
    timestamp = clamp_time(timestamp)
    seconds = int(timestamp // 1)
    nanos = min(round((timestamp - seconds) * 1_000_000_000), 999_999_999)
    return seconds, nanos


class BulkBuilder:
    """Turns events of one tag into bulk items under the output's settings."""

    def __init__(self, settings: OpenSearchSettings) -> None:
        self.s = settings
        self.action = "update" if settings.write_operation == "upsert" else settings.write_operation
        self._body_prefix = {
            "update": b'{"doc":',
            "upsert": b'{"doc_as_upsert":true,"doc":',
        }.get(settings.write_operation, b"")
        self._index = (
            Template(settings.index) if settings.index_accessor and "$" in settings.index else None
        )
        key = settings.logstash_prefix_key
        self._prefix_key = None if not key else Template(key if key.startswith("$") else "$" + key)
        self._id_key = RecordAccessor(settings.id_key) if settings.id_key else None
        # strftime is the dearest step per record, and a batch's records share seconds.
        self._time_memo: tuple[int, str] = (-1, "")
        self._date_memo: tuple[int, str] = (-1, "")

    def time_text(self, seconds: int, nanos: int) -> str:
        s = self.s
        memo_seconds, base = self._time_memo
        if memo_seconds != seconds:
            base = time.strftime(s.time_key_format, time.gmtime(seconds))
            self._time_memo = (seconds, base)
        return f"{base}.{nanos:09d}Z" if s.time_key_nanos else f"{base}.{nanos // 1_000_000:03d}Z"

    def index_for(self, tag: str, record: dict[str, Any], seconds: int, now: float) -> str:
        s = self.s
        if s.logstash_format:
            prefix = s.logstash_prefix
            if self._prefix_key is not None:
                value = self._prefix_key.render(tag, record)
                if value:
                    prefix = value[:MAX_PREFIX]
            when = int(now) if s.current_time_index else seconds
            memo_seconds, date = self._date_memo
            if memo_seconds != when:
                date = time.strftime(s.logstash_dateformat, time.gmtime(when))
                self._date_memo = (when, date)
            return prefix + s.logstash_prefix_separator + date
        if self._index is not None:
            rendered = self._index.render(tag, record)
            if rendered:
                return rendered
        return time.strftime(s.index, time.gmtime(int(now))) if "%" in s.index else s.index

    def item(self, tag: str, event: Event, now: float, stats: BuildStats) -> BulkItem | None:
        """The bulk item of one event; None when it must be skipped (update/upsert
        without an ``_id``)."""
        s = self.s
        timestamp, record = event
        seconds, nanos = _split_time(timestamp)
        doc: dict[str, Any] = {s.time_key: self.time_text(seconds, nanos)}
        if s.include_tag_key:
            doc[s.tag_key] = tag
        doc.update(_replace_dots(record) if s.replace_dots else record)
        source = dumps(doc)
        meta: dict[str, str] = {"_index": self.index_for(tag, record, seconds, now)}
        if not s.suppress_type_name:
            meta["_type"] = s.type
        doc_id = self._doc_id(record, source, seconds, nanos)
        if doc_id is not None:
            meta["_id"] = doc_id
        elif self._body_prefix:
            stats.missing_id += 1
            return None
        if self._body_prefix:
            source = self._body_prefix + source + b"}"
        # Both lines are bytes of their own size (``+``, dumps(newline=True)): a bulk
        # request holds every item until it is sent.
        return BulkItem(dumps({self.action: meta}, newline=True), source + b"\n", event)

    def _doc_id(
        self, record: dict[str, Any], source: bytes, seconds: int, nanos: int
    ) -> str | None:
        if self._id_key is not None:
            value = self._id_key.get(record)
            return value if isinstance(value, str) and value else None
        if not self.s.generate_id:
            return None
        digest = hashlib.blake2b(source, digest_size=16)
        digest.update(f"\0{seconds}.{nanos:09d}".encode())
        h = digest.hexdigest().upper()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def build(self, tag: str, events: list[Event], stats: BuildStats) -> list[BulkItem]:
        now = time.time()
        items = []
        for event in events:
            item = self.item(tag, event, now, stats)
            if item is not None:
                items.append(item)
        return items


def split_requests(items: list[BulkItem], limit: int = MAX_REQUEST_BYTES) -> list[list[BulkItem]]:
    """Items, in order, cut into requests whose bodies stay within ``limit`` bytes."""
    requests: list[list[BulkItem]] = []
    current: list[BulkItem] = []
    size = 0
    for item in items:
        if current and size + item.size > limit:
            requests.append(current)
            current, size = [], 0
        current.append(item)
        size += item.size
    if current:
        requests.append(current)
    return requests


def body(items: list[BulkItem]) -> bytes:
    return b"".join(part for item in items for part in (item.action, item.source))
