"""The option tables of ``opensearch`` and ``es`` (Fluent Bit 5.1.1's names and defaults) and
their settings.

The two outputs are one implementation. ``es`` takes Elasticsearch's extra options
(``HTTP_API_Key``, ``Cloud_ID``, ``Cloud_Auth``); ``opensearch`` reads ``Index`` as a
record-accessor template (``es`` takes it as written). Both put ``strftime`` dates of the
flush time into ``Index``.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Literal

from logtide.agent.core.common_options import COMMON_OUTPUT_OPTIONS
from logtide.agent.core.errors import ConfigError
from logtide.agent.core.options import Option, parse_size
from logtide.sinks.http import HttpTransportSettings, transport_options

WRITE_OPERATIONS = ("create", "index", "update", "upsert")
AWS_SERVICES = ("es", "aoss")


def _shared(es: bool) -> tuple[Option, ...]:
    return (
        *transport_options(default_port=9200, compressions=("gzip",)),
        Option(
            "Path",
            "str",
            "",
            "Prefix of the bulk URI, for a server behind a reverse proxy on a subpath.",
        ),
        Option(
            "Index",
            "str",
            "fluent-bit",
            "Index name; strftime dates of the flush time"
            + ("." if es else ", and $key / $TAG record-accessor parts."),
        ),
        Option("Type", "str", "_doc", "Document type (_type) of each action line."),
        Option(
            "Suppress_Type_Name", "bool", False, "Leave _type out (OpenSearch, Elasticsearch 7+)."
        ),
        Option("AWS_Auth", "bool", False, "Sign requests with AWS SigV4 (Amazon OpenSearch)."),
        Option("AWS_Region", "str", None, "AWS region of the domain (needed by AWS_Auth)."),
        Option("AWS_Profile", "str", None, "Shared-credentials profile (none: the default)."),
        Option("AWS_STS_Endpoint", "str", None, "Custom STS endpoint for AWS_Role_ARN."),
        Option("AWS_Role_ARN", "str", None, "IAM role to assume for signing."),
        Option("AWS_External_ID", "str", None, "External ID for AWS_Role_ARN."),
        Option(
            "AWS_Service_Name",
            "enum",
            "es",
            "SigV4 service: es (managed domains) or aoss (OpenSearch Serverless).",
            choices=AWS_SERVICES,
        ),
        Option("Logstash_Format", "bool", False, "Index per day: <prefix><separator><date>."),
        Option("Logstash_Prefix", "str", "logstash", "Index prefix with Logstash_Format."),
        Option("Logstash_Prefix_Separator", "str", "-", "Between the prefix and the date."),
        Option(
            "Logstash_Prefix_Key",
            "str",
            None,
            "Record key (record accessor) whose value replaces Logstash_Prefix; the prefix "
            "when missing.",
        ),
        Option(
            "Logstash_DateFormat",
            "str",
            "%Y.%m.%d",
            "strftime format of the index date (the record's time, UTC).",
        ),
        Option("Time_Key", "str", "@timestamp", "Key of the record time added to each document."),
        Option(
            "Time_Key_Format",
            "str",
            "%Y-%m-%dT%H:%M:%S",
            "strftime format of Time_Key; .mmmZ (or .nnnnnnnnnZ) is appended.",
        ),
        Option("Time_Key_Nanos", "bool", False, "Nanoseconds instead of milliseconds in Time_Key."),
        Option("Include_Tag_Key", "bool", False, "Add the tag to each document under Tag_Key."),
        Option("Tag_Key", "str", "flb-key", "Key of the tag with Include_Tag_Key."),
        Option(
            "Buffer_Size",
            "str",
            "512k",
            "Accepted (a size or False); the response is always read whole, for its items.",
        ),
        Option("Pipeline", "str", None, "Ingest pipeline named in the bulk URI."),
        Option(
            "Generate_ID",
            "bool",
            False,
            "_id from a hash of the document and its time: a re-send after a crash is not "
            "indexed twice.",
        ),
        Option(
            "Write_Operation",
            "enum",
            "create",
            "Bulk action; update and upsert need Id_Key or Generate_ID.",
            choices=WRITE_OPERATIONS,
        ),
        Option("Id_Key", "str", None, "Record key (record accessor) whose string value is _id."),
        Option("Replace_Dots", "bool", False, "Replace dots in key names with underscores."),
        Option(
            "Current_Time_Index",
            "bool",
            False,
            "Name indices from the flush time instead of each record's time.",
        ),
        Option("Trace_Output", "bool", False, "Print each bulk request body to stdout."),
        Option("Trace_Error", "bool", False, "Log each rejected item with its document."),
    )


OPENSEARCH_OPTIONS: tuple[Option, ...] = (*COMMON_OUTPUT_OPTIONS, *_shared(es=False))
ES_OPTIONS: tuple[Option, ...] = (
    *COMMON_OUTPUT_OPTIONS,
    *_shared(es=True),
    Option("HTTP_API_Key", "str", None, "Elasticsearch API key (base64), sent as ApiKey."),
    Option(
        "Cloud_ID",
        "str",
        None,
        "Elastic Cloud ID (name:base64): sets Host, Port 443 and tls.",
    ),
    Option("Cloud_Auth", "str", None, "Elastic Cloud credentials user:password."),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenSearchSettings(HttpTransportSettings):
    path: str
    index: str
    type: str
    suppress_type_name: bool
    aws_auth: bool
    aws_region: str | None
    aws_profile: str | None
    aws_sts_endpoint: str | None
    aws_role_arn: str | None
    aws_external_id: str | None
    aws_service_name: Literal["es", "aoss"]
    logstash_format: bool
    logstash_prefix: str
    logstash_prefix_separator: str
    logstash_prefix_key: str | None
    logstash_dateformat: str
    time_key: str
    time_key_format: str
    time_key_nanos: bool
    include_tag_key: bool
    tag_key: str
    buffer_size: str
    pipeline: str | None
    generate_id: bool
    write_operation: Literal["create", "index", "update", "upsert"]
    id_key: str | None
    replace_dots: bool
    current_time_index: bool
    trace_output: bool
    trace_error: bool
    #: ``Index`` is a record-accessor template (opensearch), not plain text (es).
    index_accessor: bool = field(init=False, default=True)
    #: The bulk URI path, with the pipeline.
    bulk_path: str = field(init=False)

    def __post_init__(self) -> None:
        HttpTransportSettings.__post_init__(self)
        where = self.location
        label = f"output '{self.name}'"
        if self.aws_auth and not self.aws_region:
            raise ConfigError(f"{label}: AWS_Auth On needs AWS_Region", where)
        if self.write_operation in ("update", "upsert") and not (self.id_key or self.generate_id):
            raise ConfigError(
                f"{label}: Write_Operation {self.write_operation} needs Id_Key or Generate_ID",
                where,
            )
        if self.buffer_size.strip().lower() not in ("false", "off"):
            try:
                parse_size(self.buffer_size)
            except ValueError as exc:
                raise ConfigError(
                    f"{label}: option 'Buffer_Size': {exc}", self.where("buffer_size")
                ) from None
        path = self.path.rstrip("/")
        if path and not path.startswith("/"):
            path = "/" + path
        bulk = f"{path}/_bulk"
        self._derive("bulk_path", f"{bulk}/?pipeline={self.pipeline}" if self.pipeline else bulk)


@dataclass(frozen=True, slots=True, kw_only=True)
class EsSettings(OpenSearchSettings):
    http_api_key: str | None
    cloud_id: str | None
    cloud_auth: str | None

    def __post_init__(self) -> None:
        OpenSearchSettings.__post_init__(self)
        self._derive("index_accessor", False)
        if self.cloud_id:
            # Cloud_ID names the server: it replaces Host and Port, over TLS.
            host, port = _cloud_target(self.cloud_id, self)
            self._derive("host", host)
            self._derive("port", port)
            self._derive("tls", True)
        if self.cloud_auth and not self.http_user:
            user, colon, password = self.cloud_auth.partition(":")
            if not colon:
                raise ConfigError(
                    f"output '{self.name}': Cloud_Auth must be user:password",
                    self.where("cloud_auth"),
                )
            self._derive("http_user", user)
            self._derive("http_passwd", password)


def _cloud_target(cloud_id: str, settings: EsSettings) -> tuple[str, int]:
    """Elastic Cloud's ``name:base64(host$es_id$kibana_id)``: the cluster is ``es_id.host``,
    over TLS, on the host's port or 443."""
    _, _, encoded = cloud_id.rpartition(":")
    try:
        decoded = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    parts = decoded.split("$")
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise ConfigError(
            f"output '{settings.name}': Cloud_ID is not name:base64(host$es_id$kibana_id)",
            settings.where("cloud_id"),
        )
    host, _, port = parts[0].partition(":")
    return f"{parts[1]}.{host}", int(port) if port.isdigit() else 443
