"""The tail input's option table (Fluent Bit's names and defaults) and its cross-checks."""

from __future__ import annotations

from agent.core.common_options import COMMON_INPUT_OPTIONS
from agent.core.errors import ConfigError
from agent.core.options import Option, Settings
from agent.parsers.rubyre import RegexSyntaxError, compile_ruby

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


def validate(settings: Settings) -> None:
    """Cross-option checks with no I/O."""
    where = settings.location
    if not settings["path"]:
        raise ConfigError("tail: 'Path' is empty", where)
    if settings["buffer_chunk_size"] <= 0 or settings["buffer_max_size"] <= 0:
        raise ConfigError("tail: Buffer_Chunk_Size and Buffer_Max_Size must be positive", where)
    if settings["buffer_max_size"] < settings["buffer_chunk_size"]:
        raise ConfigError(
            "tail: Buffer_Max_Size must be at least Buffer_Chunk_Size "
            f"({settings['buffer_max_size']} < {settings['buffer_chunk_size']})",
            where,
        )
    if settings["docker_mode"] and settings["multiline.parser"]:
        raise ConfigError("tail: Docker_Mode cannot be combined with multiline.parser", where)
    if settings["docker_mode_flush"] <= 0:
        raise ConfigError("tail: Docker_Mode_Flush must be positive", where)
    regex = settings["tag_regex"]
    if regex:
        try:
            compile_ruby(regex)
        except RegexSyntaxError as exc:
            raise ConfigError(f"tail: Tag_Regex {regex!r}: {exc}", where) from None
        tag = settings["tag"] or ""
        if tag.count("<") != tag.count(">"):
            raise ConfigError(f"tail: Tag {tag!r} has an unclosed '<'", where)
