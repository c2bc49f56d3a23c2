"""The multiline parser registry plugins find in ``context.multiline_parsers``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from logtide.agent.core.errors import ConfigError, Location
from logtide.agent.parsers.base import ParserSection
from logtide.agent.parsers.multiline.builtin import builtin_specs
from logtide.agent.parsers.multiline.spec import MultilineSpec, spec_from_entries
from logtide.agent.parsers.multiline.stream import MultilineStream, Parse

if TYPE_CHECKING:
    from logtide.agent.parsers.registry import ParserRegistry


class MultilineRegistry:
    """Built-in ``docker``/``cri`` plus every ``[MULTILINE_PARSER]`` of the config."""

    def __init__(self, specs: Iterable[MultilineSpec] = ()) -> None:
        self._specs: dict[str, MultilineSpec] = dict(builtin_specs())
        for spec in specs:
            self._specs[spec.name.lower()] = spec

    @classmethod
    def from_sections(cls, sections: Iterable[ParserSection]) -> MultilineRegistry:
        """Validate the sections (no I/O); raise :class:`ConfigError` with file:line."""
        specs: list[MultilineSpec] = []
        seen: dict[str, Location] = {}
        for section in sections:
            entries = [(entry.key, entry.value, entry.location) for entry in section.entries]
            spec = spec_from_entries(entries, section.location)
            key = spec.name.lower()
            if key in seen:
                raise ConfigError(
                    f"multiline parser '{spec.name}' is defined twice (first at {seen[key]})",
                    section.location,
                )
            seen[key] = section.location
            specs.append(spec)
        return cls(specs)

    def names(self) -> list[str]:
        return sorted(self._specs)

    def get(self, name: str, location: Location | None = None) -> MultilineSpec:
        spec = self._specs.get(name.strip().lower())
        if spec is None:
            raise ConfigError(
                f"unknown multiline parser '{name}'; available: {', '.join(self.names())}",
                location,
            )
        return spec

    def stream(
        self,
        names: Sequence[str],
        parsers: ParserRegistry | None = None,
        location: Location | None = None,
    ) -> MultilineStream:
        """A fresh per-file stream over ``names``, resolving each spec's ``parser`` through
        ``parsers`` (the ParserRegistry); built-ins bring their own."""
        resolved: list[tuple[MultilineSpec, Parse | None]] = []
        for name in names:
            spec = self.get(name, location)
            parse: Parse | None = spec.builtin_parser
            if parse is None and spec.parser_name:
                if parsers is None:
                    raise ConfigError(
                        f"multiline parser '{spec.name}' needs parser '{spec.parser_name}' "
                        "but no parsers are loaded",
                        spec.location,
                    )
                parse = parsers.get(spec.parser_name, spec.location).parse
            resolved.append((spec, parse))
        return MultilineStream(resolved)
