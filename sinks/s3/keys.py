"""``s3_key_format``: Fluent Bit's tokens plus record-field placeholders, rendered safely.

strftime runs only over the literal parts of the format, never over substituted values, so a
``%`` in a tag or field cannot turn into a time directive. Every substituted value is encoded
so it stays inside one path segment: ``/`` and other unsafe bytes become ``%XX`` and a value
containing ``..`` has its dots encoded, so neither a tag nor a field can climb or add levels.
"""

from __future__ import annotations

import hashlib
import re
import string
import time
from typing import Any

from logtide.agent.core.errors import ConfigError
from logtide.agent.core.events import Record
from logtide.agent.core.record_accessor import MISSING, RecordAccessor, accessor_at, value_text
from logtide.agent.core.timestamps import clamp_time

MAX_KEY_BYTES = 1024
MAX_TAG_PARTS = 10
DEFAULT_PARTITION = "__HIVE_DEFAULT_PARTITION__"
# A value shortened to fit a key keeps this many characters, then "~" and a digest.
SHORT_HEAD = 16
DIGEST_CHARS = 16

# Fluent Bit's s3 tokens win at each ``$`` (``$TAG_x`` is the tag then ``_x``, as there);
# any other ``$name['a']`` is a record field (logtide.agent.core.record_accessor), the spelling that
# survives the config loader's ``${VAR}`` expansion that would eat ``${name}``.
_TOKEN_RE = re.compile(r"\$\{([^}]*)\}|\$TAG\[(\d+)\]|\$TAG|\$INDEX|\$UUID")
_SAFE = frozenset(string.ascii_letters + string.digits + "-_.~=+,@")
# One piece of a parsed format: its kind and what it holds (see KeyFormat.segments).
Piece = tuple[str, Any]


class KeyFormatError(ValueError):
    """The format itself is malformed (reported as a config error)."""


def encode_value(value: str) -> str:
    """Make ``value`` one harmless path segment: percent-encode unsafe bytes and ``..``."""
    if not value:
        return DEFAULT_PARTITION
    dots = ".." in value or value == "."
    if not dots and all(char in _SAFE for char in value):
        return value
    out: list[str] = []
    for char in value:
        if char in _SAFE and not (dots and char == "."):
            out.append(char)
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8"))
    return "".join(out)


def _field_text(value: Any) -> str:
    if value is None:
        return ""  # the default partition, as for a missing field
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    # Sorted, so one map value names one partition whatever its keys' order.
    return value_text(value, sort_keys=True)


def _field_value(field: RecordAccessor, record: Record) -> str:
    value = field.get(record)
    return DEFAULT_PARTITION if value is MISSING else encode_value(_field_text(value))


def _parse_field(spec: str) -> RecordAccessor:
    try:
        return RecordAccessor("$" + spec.strip())
    except ConfigError:
        raise KeyFormatError(
            f"bad record placeholder ${{{spec}}}; use ${{key}}, ${{k['a']}} or ${{k[0]}}"
        ) from None


class KeyFormat:
    """A parsed ``s3_key_format``.

    ``group(record)`` gives the record-field values that split buffers (one buffer per tag and
    group); ``render`` builds the key from those, the tag and the first record's time.
    """

    def __init__(self, template: str, tag_delimiters: str = ".") -> None:
        self.template = template
        self.tag_delimiters = tag_delimiters or "."
        self._split_re = re.compile("[" + re.escape(self.tag_delimiters) + "]+")
        # pieces: ("lit", text) | ("field", index) | ("tag", None) | ("tagpart", n) | ...
        self._pieces: list[Piece] = []
        fields: list[RecordAccessor] = []
        position = scan = 0
        while (dollar := template.find("$", scan)) != -1:
            match = _TOKEN_RE.match(template, dollar)
            field: RecordAccessor | None = None
            if match is not None:
                end = match.end()
                if match.group(1) is not None:
                    field = _parse_field(match.group(1))
            elif (found := accessor_at(template, dollar)) is not None:
                field, end = found
            else:
                scan = dollar + 1
                continue
            if dollar > position:
                self._pieces.append(("lit", template[position:dollar]))
            if field is not None:
                if field not in fields:
                    fields.append(field)
                self._pieces.append(("field", fields.index(field)))
            elif match is not None and match.group(2) is not None:
                part = int(match.group(2))
                if part >= MAX_TAG_PARTS:
                    raise KeyFormatError(
                        f"{match.group(0)}: at most {MAX_TAG_PARTS} tag parts ($TAG[0-9])"
                    )
                self._pieces.append(("tagpart", part))
            elif match is not None:
                self._pieces.append((match.group(0)[1:].lower(), None))
            position = scan = end
        if position < len(template):
            self._pieces.append(("lit", template[position:]))
        if "${" in "".join(text for kind, text in self._pieces if kind == "lit"):
            raise KeyFormatError("unterminated '${' placeholder")
        self._fields = tuple(fields)
        kinds = {kind for kind, _ in self._pieces}
        self.has_index = "index" in kinds
        self.has_uuid = "uuid" in kinds

    @property
    def has_fields(self) -> bool:
        return bool(self._fields)

    def segments(self) -> list[list[Piece]]:
        """The format's pieces cut at every ``/`` of its literal text, for readers of the key
        layout (the Athena companion): ``("lit", text)``, ``("field", RecordAccessor)``,
        ``("tag", None)``, ``("tagpart", n)``, ``("index", None)``, ``("uuid", None)``."""
        segments: list[list[Piece]] = [[]]
        for kind, value in self._pieces:
            if kind == "field":
                segments[-1].append((kind, self._fields[value]))
            elif kind != "lit":
                segments[-1].append((kind, value))
            else:
                first, *rest = value.split("/")
                if first:
                    segments[-1].append((kind, first))
                for text in rest:
                    segments.append([(kind, text)] if text else [])
        return segments

    def tag_parts(self, tag: str) -> list[str]:
        """The tag split at ``s3_key_format_tag_delimiters``: what ``$TAG[n]`` indexes."""
        return [part for part in self._split_re.split(tag) if part]

    def group(self, record: Record) -> tuple[str, ...]:
        return tuple(_field_value(field, record) for field in self._fields)

    def render(
        self,
        tag: str,
        group: tuple[str, ...],
        first_time: float,
        *,
        index: int = 0,
        uuid8: str = "",
        suffix: str = "",
    ) -> str:
        """The object key, without a leading ``/`` (as Fluent Bit sends it).

        A key longer than S3's 1,024 bytes is shortened without losing its uniqueness: long
        substituted values give way to a digest first, and only then is the key cut, with a
        digest of the whole key (which holds ``$UUID``/``$INDEX``) in place of what was cut.
        The suffix is always kept whole.
        """
        moment = time.gmtime(int(clamp_time(first_time)))
        parts = self.tag_parts(tag)
        out: list[str] = []
        substituted: list[int] = []
        for kind, value in self._pieces:
            if kind == "lit":
                out.append(time.strftime(value, moment) if "%" in value else value)
                continue
            if kind == "field":
                out.append(group[value])
            elif kind == "tag":
                out.append(encode_value(tag))
            elif kind == "tagpart":
                out.append(encode_value(parts[value]) if value < len(parts) else "")
            elif kind == "index":
                out.append(str(index))
            elif kind == "uuid":
                out.append(uuid8)
            if kind in ("field", "tag", "tagpart"):
                substituted.append(len(out) - 1)
        limit = MAX_KEY_BYTES - len(suffix.encode("utf-8"))
        return _fit(out, substituted, limit) + suffix


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:DIGEST_CHARS]


def _shorten(value: str) -> str:
    """A long encoded value as its head and a digest of the whole (still one safe segment)."""
    head = value[:SHORT_HEAD]
    escape = head.rfind("%", len(head) - 2)
    if escape != -1:
        head = head[:escape]  # never split a %XX escape
    return f"{head}~{_digest(value)}"


def _fit(out: list[str], substituted: list[int], limit: int) -> str:
    key = "".join(out).lstrip("/")
    if len(key.encode("utf-8")) <= limit:
        return key
    full = key
    for position in sorted(substituted, key=lambda i: -len(out[i])):
        if len(out[position]) > SHORT_HEAD + 1 + DIGEST_CHARS:
            out[position] = _shorten(out[position])
            key = "".join(out).lstrip("/")
            if len(key.encode("utf-8")) <= limit:
                return key
    # The format's own text is too long: cut it, keeping a digest of the whole key.
    head = key.encode("utf-8")[: limit - 1 - DIGEST_CHARS].decode("utf-8", "ignore")
    return f"{head}~{_digest(full)}"
