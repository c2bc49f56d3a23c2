"""The tail input's option table (Fluent Bit's names and defaults), the typed settings it
binds to, and the checks across options (run when binding)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from logtide.agent.core.common_options import COMMON_INPUT_OPTIONS, InputSettings
from logtide.agent.core.errors import ConfigError
from logtide.agent.core.options import Option
from logtide.agent.parsers.rubyre import RegexSyntaxError, compile_ruby

OPTIONS: tuple[Option, ...] = (
    *COMMON_INPUT_OPTIONS,
    Option("Path", "list", None, "Comma-separated glob patterns of files to tail.", required=True),
    Option("Exclude_Path", "list", [], "Comma-separated globs of files to leave out."),
    Option("Tag_Regex", "str", None, "Regex over the path; its named groups fill <name> in Tag."),
    Option("Refresh_Interval", "time", 60.0, "Seconds between rescans of Path for new files."),
    Option(
        "Read_from_Head",
        "bool",
        False,
        "Read files found at start from their head (--once and Exit_On_Eof: unless written Off).",
    ),
    Option("Rotate_Wait", "time", 5.0, "Seconds to keep watching a rotated file after its end."),
    Option("Buffer_Chunk_Size", "size", 32768, "Initial read buffer per file."),
    Option("Buffer_Max_Size", "size", 32768, "Longest line (with its newline) kept whole."),
    Option("Skip_Long_Lines", "bool", False, "Skip lines longer than Buffer_Max_Size."),
    Option("Truncate_Long_Lines", "bool", False, "Cut long lines to Buffer_Max_Size."),
    Option("Skip_Empty_Lines", "bool", False, "Drop lines that are empty (or just CR)."),
    Option("Path_Key", "str", None, "Add the file path under this key."),
    Option("Offset_Key", "str", None, "Add the line's byte offset under this key."),
    Option("Key", "str", "log", "Key holding the raw line when no parser applies."),
    Option("Ignore_Older", "time", 0.0, "Ignore files not modified for this long (0 = off)."),
    Option("Parser", "str", None, "Parser applied to every line.", refers="parser"),
    Option("Docker_Mode", "bool", False, "Join docker json-file fragments split at 16 KiB."),
    Option("Docker_Mode_Flush", "time", 4.0, "Seconds before an incomplete docker line is sent."),
    Option(
        "Docker_Mode_Parser",
        "str",
        None,
        "Parser recognising the first line of a record.",
        refers="parser",
    ),
    Option(
        "multiline.parser",
        "list",
        [],
        "Multiline parsers (docker, cri or user-defined).",
        refers="multiline_parser",
        multiple=True,
    ),
    Option("DB", "str", None, "SQLite file keeping each file's acknowledged offset."),
    Option(
        "DB.sync",
        "enum",
        "normal",
        "SQLite synchronous mode.",
        choices=("extra", "full", "normal", "off"),
    ),
    Option("DB.locking", "bool", False, "Hold the DB exclusively (faster; no other reader)."),
    Option(
        "DB.journal_mode",
        "enum",
        "WAL",
        "SQLite journal mode.",
        choices=("DELETE", "TRUNCATE", "PERSIST", "MEMORY", "WAL", "OFF"),
    ),
    Option("DB.compare_filename", "bool", False, "Match DB rows by inode and file name."),
    Option(
        "Inotify_Watcher",
        "bool",
        True,
        "File notifications for low latency: inotify on Linux, watchdog elsewhere (Off: polling).",
    ),
    Option("Static_Batch_Size", "size", 0, "Accepted for compatibility; logtide sizes chunks."),
    Option(
        "Exit_On_Eof",
        "bool",
        False,
        "Read every file to its end, then end the run once delivered (as --once does).",
    ),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class TailSettings(InputSettings):
    """The tail input's options as typed fields (one per entry of :data:`OPTIONS`)."""

    path: list[str]
    exclude_path: list[str]
    tag_regex: str | None
    refresh_interval: float
    read_from_head: bool
    rotate_wait: float
    buffer_chunk_size: int
    buffer_max_size: int
    skip_long_lines: bool
    truncate_long_lines: bool
    skip_empty_lines: bool
    path_key: str | None
    offset_key: str | None
    key: str
    ignore_older: float
    parser: str | None
    docker_mode: bool
    docker_mode_flush: float
    docker_mode_parser: str | None
    multiline_parser: list[str]
    db: str | None
    db_sync: Literal["extra", "full", "normal", "off"]
    db_locking: bool
    db_journal_mode: Literal["DELETE", "TRUNCATE", "PERSIST", "MEMORY", "WAL", "OFF"]
    db_compare_filename: bool
    inotify_watcher: bool
    static_batch_size: int
    exit_on_eof: bool

    def __post_init__(self) -> None:
        """Cross-option checks with no I/O."""
        if not self.path:
            raise ConfigError("tail: 'Path' is empty", self.where("path"))
        for attribute, value in (
            ("buffer_chunk_size", self.buffer_chunk_size),
            ("buffer_max_size", self.buffer_max_size),
        ):
            if value <= 0:
                raise ConfigError(
                    "tail: Buffer_Chunk_Size and Buffer_Max_Size must be positive",
                    self.where(attribute),
                )
        if self.buffer_max_size < self.buffer_chunk_size:
            # The line to edit: Buffer_Max_Size's when written, else Buffer_Chunk_Size's.
            culprit = (
                "buffer_max_size" if "buffer_max_size" in self.written_at else "buffer_chunk_size"
            )
            raise ConfigError(
                "tail: Buffer_Max_Size must be at least Buffer_Chunk_Size "
                f"({self.buffer_max_size} < {self.buffer_chunk_size})",
                self.where(culprit),
            )
        if self.docker_mode and self.multiline_parser:
            raise ConfigError(
                "tail: Docker_Mode cannot be combined with multiline.parser", self.location
            )
        # Fluent Bit refuses both at 0: a rescan every pass, a rotated file never waited for.
        for attribute, name in (
            ("refresh_interval", "Refresh_Interval"),
            ("rotate_wait", "Rotate_Wait"),
        ):
            if getattr(self, attribute) <= 0:
                raise ConfigError(f"tail: {name} must be positive", self.where(attribute))
        if self.docker_mode_flush <= 0:
            raise ConfigError(
                "tail: Docker_Mode_Flush must be positive", self.where("docker_mode_flush")
            )
        regex = self.tag_regex
        if regex:
            try:
                compile_ruby(regex)
            except RegexSyntaxError as exc:
                raise ConfigError(
                    f"tail: Tag_Regex {regex!r}: {exc}", self.where("tag_regex")
                ) from None
            tag = self.tag or ""
            if tag.count("<") != tag.count(">"):
                raise ConfigError(f"tail: Tag {tag!r} has an unclosed '<'", self.where("tag"))
