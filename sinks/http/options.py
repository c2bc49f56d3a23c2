"""The ``http`` output's option table (Fluent Bit 5.1.1's names and defaults) and settings.

The transport's options (Host, Port, TLS, basic auth, compress, proxy, timeouts) come from
:func:`~logtide.sinks.http.transport_options.transport_options`; this table adds what the
request looks like: URI, method, body format, headers, the date key and GELF's keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from logtide.agent.core.common_options import COMMON_OUTPUT_OPTIONS
from logtide.agent.core.errors import ConfigError
from logtide.agent.core.options import Option
from logtide.agent.core.record_accessor import RecordAccessor
from logtide.agent.core.serialize import DATE_FORMATS
from logtide.sinks.http.gelf import GelfKeys
from logtide.sinks.http.transport_options import HttpTransportSettings, transport_options

FORMATS = ("json", "json_lines", "json_stream", "msgpack", "gelf")
# Fluent Bit's other spellings of epoch_ms.
_DATE_ALIASES = {"epoch_millis": "epoch_ms", "epoch_milliseconds": "epoch_ms"}
_FALSE = frozenset({"false", "off", "no", "0"})

HTTP_OPTIONS: tuple[Option, ...] = (
    *COMMON_OUTPUT_OPTIONS,
    *transport_options(default_port=80),
    Option("URI", "str", "/", "Path of the request, e.g. /something (a leading / is added)."),
    Option("http_method", "enum", "POST", "POST or PUT.", choices=("POST", "PUT")),
    Option(
        "Format",
        "enum",
        "json",
        "Body: json (one array), json_lines, json_stream (objects back to back), msgpack "
        "(Fluent Bit's event format) or gelf (one GELF object per line).",
        choices=FORMATS,
    ),
    Option(
        "Header",
        "str",
        None,
        "An extra header, as 'Name value'; repeat the option for more.",
        multiple=True,
    ),
    Option(
        "allow_duplicated_headers",
        "bool",
        True,
        "Send every Header given for a name; Off keeps only the last one.",
    ),
    Option("header_tag", "str", None, "Send the records' tag in this header."),
    Option(
        "json_date_key",
        "str",
        "date",
        "Key of the event time in json formats; false leaves it out.",
    ),
    Option(
        "json_date_format",
        "enum",
        "double",
        "Event time in json formats: double, epoch, epoch_ms, iso8601 or java_sql_timestamp.",
        choices=(*DATE_FORMATS, *_DATE_ALIASES),
    ),
    Option("gelf_timestamp_key", "str", None, "Record key sent as GELF's timestamp."),
    Option("gelf_host_key", "str", None, "Record key sent as GELF's host."),
    Option("gelf_short_message_key", "str", None, "Record key sent as GELF's short_message."),
    Option("gelf_full_message_key", "str", None, "Record key sent as GELF's full_message."),
    Option("gelf_level_key", "str", None, "Record key sent as GELF's level."),
    Option(
        "body_key",
        "str",
        None,
        "Record accessor of a string sent as the whole body, one request per record "
        "(needs headers_key).",
    ),
    Option(
        "headers_key",
        "str",
        None,
        "Record accessor of a map of the headers of body_key's request.",
    ),
    Option("log_response_payload", "bool", True, "Put the server's answer in the error line."),
    Option("http.response_timeout", "time", 60.0, "Give up waiting for an answer after this."),
    Option(
        "http.read_idle_timeout",
        "time",
        0.0,
        "Accepted for compatibility; http.response_timeout bounds the whole answer.",
    ),
    Option("aws_auth", "bool", False, "AWS SigV4 signing: not supported by logtide yet."),
    Option("oauth2.enable", "bool", False, "OAuth2 tokens: not supported by logtide yet."),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpSettings(HttpTransportSettings):
    uri: str
    http_method: Literal["POST", "PUT"]
    format: Literal["json", "json_lines", "json_stream", "msgpack", "gelf"]
    header: list[str]
    allow_duplicated_headers: bool
    header_tag: str | None
    json_date_key: str
    json_date_format: str
    gelf_timestamp_key: str | None
    gelf_host_key: str | None
    gelf_short_message_key: str | None
    gelf_full_message_key: str | None
    gelf_level_key: str | None
    body_key: str | None
    headers_key: str | None
    log_response_payload: bool
    http_response_timeout: float
    http_read_idle_timeout: float
    aws_auth: bool
    oauth2_enable: bool
    #: ``Header`` split into (name, value) pairs, in the order given.
    headers: tuple[tuple[str, str], ...] = field(init=False)
    #: ``json_date_key``, or None when it is turned off.
    date_key: str | None = field(init=False)
    #: ``json_date_format`` with Fluent Bit's aliases resolved.
    date_format: str = field(init=False)
    gelf_keys: GelfKeys = field(init=False)
    body_accessor: RecordAccessor | None = field(init=False)
    headers_accessor: RecordAccessor | None = field(init=False)

    def __post_init__(self) -> None:
        HttpTransportSettings.__post_init__(self)
        for flag, what in ((self.aws_auth, "aws_auth"), (self.oauth2_enable, "oauth2.enable")):
            if flag:
                raise ConfigError(f"http: {what} is not supported by logtide yet", self.location)
        self._derive("uri", self.uri if self.uri.startswith("/") else "/" + self.uri)
        pairs = []
        for index, raw in enumerate(self.header):
            name, _, value = raw.strip().partition(" ")
            if not name or not value.strip():
                raise ConfigError(
                    f"http: Header needs a name and a value ('Name value'), got {raw!r}",
                    self.where("header", index),
                )
            pairs.append((name, value.strip()))
        self._derive("headers", tuple(pairs))
        off = self.json_date_key.strip().lower() in _FALSE or not self.json_date_key
        self._derive("date_key", None if off else self.json_date_key)
        self._derive("date_format", _DATE_ALIASES.get(self.json_date_format, self.json_date_format))
        defaults = GelfKeys()
        self._derive(
            "gelf_keys",
            GelfKeys(
                host=self.gelf_host_key or defaults.host,
                short_message=self.gelf_short_message_key or defaults.short_message,
                timestamp=self.gelf_timestamp_key or defaults.timestamp,
                level=self.gelf_level_key or defaults.level,
                full_message=self.gelf_full_message_key or defaults.full_message,
            ),
        )
        if bool(self.body_key) != bool(self.headers_key):
            raise ConfigError(
                "http: body_key and headers_key go together (set both or neither)",
                self.location,
            )
        self._derive(
            "body_accessor",
            RecordAccessor(self.body_key, self.where("body_key")) if self.body_key else None,
        )
        self._derive(
            "headers_accessor",
            RecordAccessor(self.headers_key, self.where("headers_key"))
            if self.headers_key
            else None,
        )
