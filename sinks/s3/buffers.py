"""A store_dir buffer (the records of one future S3 object) and its upload state."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, field
from typing import Any

_ID_CHARS = string.ascii_letters + string.digits


@dataclass(slots=True)
class UploadState:
    """How a sealed buffer is being uploaded; saved before each step so a restart resumes."""

    method: str  # "put" or "multipart"
    body_sha256: str
    body_size: int
    part_size: int
    upload_id: str | None = None
    parts: dict[int, str] = field(default_factory=dict)  # part number -> ETag

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "body_sha256": self.body_sha256,
            "body_size": self.body_size,
            "part_size": self.part_size,
            "upload_id": self.upload_id,
            "parts": {str(number): etag for number, etag in self.parts.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UploadState:
        return cls(
            method=data["method"],
            body_sha256=data["body_sha256"],
            body_size=int(data["body_size"]),
            part_size=int(data["part_size"]),
            upload_id=data.get("upload_id"),
            parts={int(number): etag for number, etag in (data.get("parts") or {}).items()},
        )


@dataclass(slots=True)
class Buffer:
    """The records of one future S3 object."""

    id: str
    tag: str
    group: tuple[str, ...]
    key: str
    first_time: float
    created: float
    size: int = 0
    # The size the last recorded append confirmed; only this much survives a crash.
    confirmed: int = 0
    sealed: bool = False
    upload: UploadState | None = None
    retry_after: float = 0.0
    fd: int | None = None
    # Whether its entry (key, tag, ...) is on disk; it is written with the first append.
    journaled: bool = False

    @property
    def stream(self) -> tuple[str, tuple[str, ...]]:
        return (self.tag, self.group)

    def to_json(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "group": list(self.group),
            "key": self.key,
            "first_time": self.first_time,
            "created": self.created,
            "size": self.confirmed,
            "upload": self.upload.to_json() if self.upload else None,
        }

    @classmethod
    def from_json(cls, buffer_id: str, entry: dict[str, Any]) -> Buffer:
        """A buffer recovered from the journal: sealed, since no appends follow a restart."""
        return cls(
            id=buffer_id,
            tag=entry["tag"],
            group=tuple(entry.get("group") or ()),
            key=entry["key"],
            first_time=float(entry["first_time"]),
            created=float(entry["created"]),
            sealed=True,
            upload=UploadState.from_json(entry["upload"]) if entry.get("upload") else None,
            journaled=True,
        )


def new_buffer_id() -> str:
    return "".join(secrets.choice(_ID_CHARS) for _ in range(16))
