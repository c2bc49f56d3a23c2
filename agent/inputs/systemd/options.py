"""The systemd input's option table (Fluent Bit's names and defaults), the typed settings it
binds to, and the checks across options (run when binding, so ``--dry-run`` runs them)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from logtide.agent.core.common_options import COMMON_INPUT_OPTIONS, InputSettings
from logtide.agent.core.errors import ConfigError
from logtide.agent.core.options import Option

# What sd_journal_add_match (and so journalctl) accepts as a match's field: upper-case
# letters, digits and '_', not starting with a digit, and not a '__' address field.
_FIELD_RE = re.compile(r"^(?!__)[A-Z_][A-Z0-9_]*$")

OPTIONS: tuple[Option, ...] = (
    *COMMON_INPUT_OPTIONS,
    Option(
        "Path",
        "str",
        None,
        "Journal folder (e.g. /var/log/journal); unset: the system's local journal.",
    ),
    Option(
        "Systemd_Filter",
        "str",
        [],
        "FIELD=value an entry must carry (e.g. _SYSTEMD_UNIT=kubelet.service); repeatable.",
        multiple=True,
    ),
    Option(
        "Systemd_Filter_Type",
        "enum",
        "Or",
        "How several Systemd_Filter combine: Or (any matches) or And (all match).",
        choices=("And", "Or"),
    ),
    Option(
        "Read_From_Tail",
        "bool",
        False,
        "With no cursor in DB, start at the journal's end instead of its oldest entry.",
    ),
    Option("DB", "str", None, "SQLite file keeping the cursor of the last delivered entry."),
    Option(
        "DB.Sync",
        "enum",
        "normal",
        "SQLite synchronous mode of DB.",
        choices=("extra", "full", "normal", "off"),
    ),
    Option("Max_Fields", "int", 8000, "Fields kept per entry; the rest are dropped."),
    Option("Max_Entries", "int", 5000, "Entries read per round (one chunk per tag)."),
    Option("Strip_Underscores", "bool", False, "Remove one leading '_' from field names."),
    Option("Lowercase", "bool", False, "Lower-case field names."),
    Option(
        "Interval_Sec",
        "int",
        0,
        "With Interval_NSec: how long entries wait for more to share a round (0: send as "
        "soon as the journal has nothing more to read).",
    ),
    Option("Interval_NSec", "int", 0, "Nanoseconds added to Interval_Sec."),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class SystemdSettings(InputSettings):
    """The systemd input's options as typed fields (one per entry of :data:`OPTIONS`)."""

    path: str | None
    systemd_filter: list[str]
    systemd_filter_type: Literal["And", "Or"]
    read_from_tail: bool
    db: str | None
    db_sync: Literal["extra", "full", "normal", "off"]
    max_fields: int
    max_entries: int
    strip_underscores: bool
    lowercase: bool
    interval_sec: int
    interval_nsec: int
    #: ``Systemd_Filter`` split into (field, value) pairs, in the order written.
    matches: tuple[tuple[str, str], ...] = field(init=False)
    #: ``Interval_Sec`` + ``Interval_NSec`` in seconds.
    interval: float = field(init=False)

    def __post_init__(self) -> None:
        """Cross-option checks with no I/O."""
        matches = []
        for index, raw in enumerate(self.systemd_filter):
            name, sep, value = raw.partition("=")
            if not sep or not _FIELD_RE.match(name):
                raise ConfigError(
                    f"systemd: Systemd_Filter {raw!r}: expected FIELD=value, FIELD made of "
                    "A-Z, 0-9 and '_' (e.g. _SYSTEMD_UNIT=kubelet.service)",
                    self.where("systemd_filter", index),
                )
            matches.append((name, value))
        for attribute, count in (
            ("max_fields", self.max_fields),
            ("max_entries", self.max_entries),
        ):
            if count <= 0:
                raise ConfigError(
                    "systemd: Max_Fields and Max_Entries must be positive", self.where(attribute)
                )
        for attribute, part in (
            ("interval_sec", self.interval_sec),
            ("interval_nsec", self.interval_nsec),
        ):
            if part < 0:
                raise ConfigError(
                    "systemd: Interval_Sec and Interval_NSec cannot be negative",
                    self.where(attribute),
                )
        if self.path is not None and not self.path.strip():
            raise ConfigError("systemd: 'Path' is empty", self.where("path"))
        self._derive("matches", tuple(matches))
        self._derive("interval", self.interval_sec + self.interval_nsec / 1e9)
