"""The cloudwatch_logs option table (Fluent Bit's names and defaults) and its settings."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from logtide.agent.core.common_options import COMMON_OUTPUT_OPTIONS
from logtide.agent.core.errors import ConfigError
from logtide.agent.core.options import Option
from logtide.sinks.aws import AWS_OPTIONS, AwsSettings
from logtide.sinks.aws.retry import AUTO_RETRY_OPTION

# CloudWatch's accepted retention periods, in days.
RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
     2922, 3288, 3653}
)  # fmt: skip

CLOUDWATCH_OPTIONS: tuple[Option, ...] = (
    *COMMON_OUTPUT_OPTIONS,
    *AWS_OPTIONS,
    Option("log_group_name", "str", None, "CloudWatch log group name.", nonempty=True),
    Option(
        "log_group_template",
        "str",
        None,
        "Record-accessor template for the group ($kubernetes['namespace_name'], $TAG[1]); "
        "falls back to log_group_name when a key is missing.",
    ),
    Option("log_stream_name", "str", None, "Log stream name; not with log_stream_prefix."),
    Option("log_stream_prefix", "str", None, "Stream name prefix; the tag is appended to it."),
    Option(
        "log_stream_template",
        "str",
        None,
        "Record-accessor template for the stream; falls back to log_stream_name/prefix.",
    ),
    Option("log_key", "str", None, "Send only the value of this key instead of the record."),
    Option("log_format", "str", None, "Sent as x-amzn-logs-format (json/emf enables EMF metrics)."),
    Option("auto_create_group", "bool", False, "Create the log group when it is missing."),
    Option(
        "log_retention_days",
        "int",
        0,
        "Retention set on log groups this output creates (0 = never expire).",
    ),
    Option(
        "log_group_class",
        "str",
        "",
        "Storage class of created groups: STANDARD or INFREQUENT_ACCESS.",
    ),
    AUTO_RETRY_OPTION,
    Option(
        "metric_namespace",
        "str",
        None,
        "EMF namespace; Fluent Bit applies it only to its cpu/mem inputs (accepted, unused).",
    ),
    Option(
        "metric_dimensions",
        "str",
        None,
        "EMF dimensions 'd1,d2;d3'; as metric_namespace (accepted, unused).",
    ),
    Option("extra_user_agent", "str", None, "Appended to the HTTP User-Agent."),
    Option(
        "add_entity",
        "bool",
        False,
        "Accepted, no effect: no entity is sent and aws_entity_* keys stay in the message.",
        inert=True,
    ),
    Option(
        "journal_dir",
        "str",
        None,
        "Folder of the delivery journal that makes a restart repeat no event; default "
        "<tail DB>.cloudwatch_logs next to the input's DB (none without a DB).",
    ),
)

LOG_GROUP_CLASSES = ("STANDARD", "INFREQUENT_ACCESS")


@dataclass(frozen=True, slots=True, kw_only=True)
class CloudWatchSettings(AwsSettings):
    """The cloudwatch_logs settings, with Fluent Bit's start-up checks (no I/O)."""

    log_group_name: str | None
    log_group_template: str | None
    log_stream_name: str | None
    log_stream_prefix: str | None
    log_stream_template: str | None
    log_key: str | None
    log_format: str | None
    auto_create_group: bool
    log_retention_days: int
    log_group_class: str
    auto_retry_requests: bool
    metric_namespace: str | None
    metric_dimensions: str | None
    extra_user_agent: str | None
    journal_dir: str | None

    def __post_init__(self) -> None:
        AwsSettings.__post_init__(self)
        where = self.location
        if not self.log_group_name:
            # Required even with log_group_template: it is the fallback when a key is missing.
            raise ConfigError("cloudwatch_logs: 'log_group_name' is required", where)
        has_name = bool(self.log_stream_name)
        has_prefix = self.log_stream_prefix is not None
        if has_name == has_prefix:
            raise ConfigError(
                "cloudwatch_logs: set exactly one of 'log_stream_name' or 'log_stream_prefix'",
                where,
            )
        days = self.log_retention_days
        if days < 0 or (days and days not in RETENTION_DAYS):
            raise ConfigError(
                f"cloudwatch_logs: 'log_retention_days' {days} is not a CloudWatch retention "
                f"period ({', '.join(str(d) for d in sorted(RETENTION_DAYS))})",
                self.where("log_retention_days"),
            )
        group_class = self.log_group_class
        if group_class and group_class.upper() not in LOG_GROUP_CLASSES:
            raise ConfigError(
                f"cloudwatch_logs: 'log_group_class' must be {' or '.join(LOG_GROUP_CLASSES)}, "
                f"got {group_class!r}",
                self.where("log_group_class"),
            )

    @property
    def group(self) -> str:
        """``log_group_name``, which the checks above require."""
        assert self.log_group_name is not None
        return self.log_group_name


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def journal_path(
    config: CloudWatchSettings, checkpoint_db: str | None, instance: str
) -> Path | None:
    """Where this output's journal lives, or ``None`` when nothing is re-read after a restart
    (no input DB and no ``journal_dir``): there is then nothing for a journal to prevent.

    The name holds the instance, group and stream (or prefix): an output that is renamed or
    pointed elsewhere starts a new journal, whose lack of watermarks only means chunks are
    sent again, never that a chunk is skipped for another destination.
    """
    folder = config.journal_dir
    if not folder:
        if not checkpoint_db:
            return None
        folder = f"{checkpoint_db}.cloudwatch_logs"
    stream = config.log_stream_name or config.log_stream_prefix or ""
    name = _UNSAFE.sub("_", f"{instance}-{config.log_group_name}-{stream}")
    if len(name) > 120:
        name = name[:80] + "-" + hashlib.sha256(name.encode()).hexdigest()[:16]
    return Path(folder) / f"{name}.journal"
