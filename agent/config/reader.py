"""What both configuration formats share: variables, the sections read, the files read, and
reading a file (with its include depth bounded)."""

from __future__ import annotations

from abc import ABC, abstractmethod

from logtide.agent.config.model import Section
from logtide.agent.core.errors import ConfigError, Location

MAX_INCLUDE_DEPTH = 16


class Reader(ABC):
    """Base of the classic and YAML readers; subclasses parse text in :meth:`read_text`."""

    def __init__(self, variables: dict[str, str]) -> None:
        self.variables = variables
        self.sections: list[Section] = []
        self.files: list[str] = []

    def read_file(self, path: str, location: Location | None = None, depth: int = 0) -> None:
        if depth > MAX_INCLUDE_DEPTH:
            raise ConfigError(f"includes nested deeper than {MAX_INCLUDE_DEPTH} files", location)
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}", location) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}", location) from None
        self.files.append(path)
        self.read_text(text, path, depth)

    @abstractmethod
    def read_text(self, text: str, path: str, depth: int = 0) -> None: ...
