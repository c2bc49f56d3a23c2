"""Which decoder each file gets, from the options and the config's parser registries.

The parsers named by ``Parser``, ``Docker_Mode_Parser`` and ``multiline.parser`` are looked up
once, when the input starts (:meth:`DecoderFactory.bind`); every file opened afterwards gets
a fresh decoder of its own (a decoder holds per-file state: Docker_Mode fragments, multiline
records).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from logtide.agent.core.errors import ConfigError, Location
from logtide.agent.inputs.tail.decoders import Decoder, DockerModeDecoder, MultilineDecoder, Parse
from logtide.agent.parsers.multiline.registry import MultilineRegistry

if TYPE_CHECKING:
    from logtide.agent.parsers.registry import ParserRegistry


class DecoderFactory:
    """Builds each file's :class:`~logtide.agent.inputs.tail.decoders.Decoder`."""

    def __init__(
        self,
        *,
        key: str,
        path_key: str | None,
        offset_key: str | None,
        parser: str | None,
        docker_mode: bool,
        docker_mode_flush: float,
        docker_mode_parser: str | None,
        multiline: Sequence[str],
        location: Location,
    ) -> None:
        self.key = key
        self.path_key = path_key
        self.offset_key = offset_key
        self.parser = parser
        self.docker_mode = docker_mode
        self.docker_mode_flush = docker_mode_flush
        self.docker_mode_parser = docker_mode_parser
        self.multiline = list(multiline)
        self.location = location
        self._parsers: ParserRegistry | None = None
        self._parse: Parse | None = None
        self._loads: Parse | None = None
        self._first_line: Parse | None = None
        self._multiline: MultilineRegistry | None = None

    def bind(
        self, parsers: ParserRegistry | None, multiline_parsers: MultilineRegistry | None
    ) -> None:
        """Resolve the named parsers (``ConfigError`` if one is missing). ``parsers`` is the
        config's parser registry, None when the config loaded none."""
        for option, name in (
            ("parser", self.parser),
            ("docker_mode_parser", self.docker_mode_parser),
        ):
            if name and parsers is None:
                raise ConfigError(
                    f"tail: {option} '{name}' given but no parsers are loaded", self.location
                )
        self._parsers = parsers
        if self.parser and parsers is not None:
            parser = parsers.get(self.parser, self.location)
            self._parse, self._loads = parser.parse, parser.loads
        if self.docker_mode_parser and parsers is not None:
            self._first_line = parsers.get(self.docker_mode_parser, self.location).parse
        if self.multiline:
            self._multiline = multiline_parsers or MultilineRegistry()
            self._multiline.stream(self.multiline, parsers, self.location)

    def new(self, path: str) -> Decoder:
        """A decoder for the file at ``path``."""
        args = (self.key, self.path_key, self.offset_key, path)
        if self._multiline is not None:
            stream = self._multiline.stream(self.multiline, self._parsers, self.location)
            return MultilineDecoder(stream, *args)
        if self.docker_mode:
            return DockerModeDecoder(
                self._parse, *args, self.docker_mode_flush, self._first_line, self._loads
            )
        return Decoder(self._parse, *args)
