"""Each file's decoder, from Parser, Docker_Mode and multiline.parser."""

from __future__ import annotations

import pytest

from logtide.agent.core.errors import ConfigError
from logtide.agent.inputs.tail.decoders import Decoder, DockerModeDecoder, MultilineDecoder
from logtide.agent.parsers.multiline import MultilineRegistry
from logtide.agent.parsers.registry import ParserRegistry
from tests.unit.inputs.tail.parts import decoders


def test_plain_lines_with_a_parser() -> None:
    factory = decoders(parser="json")
    factory.bind(ParserRegistry.from_sections([]), None)
    decoder = factory.new("/var/log/a.log")
    assert type(decoder) is Decoder and decoder.path == "/var/log/a.log"
    [(_, record)] = decoder.decode([b'{"a": 1}'], [0], 0.0)
    assert record == {"a": 1}


def test_docker_mode_and_multiline_get_their_own_decoder_per_file() -> None:
    docker = decoders(docker_mode=True, parser="docker")
    docker.bind(ParserRegistry.from_sections([]), None)
    assert isinstance(docker.new("/a.log"), DockerModeDecoder)
    multiline = decoders(multiline=["cri"])
    multiline.bind(ParserRegistry.from_sections([]), MultilineRegistry())
    first, second = multiline.new("/a.log"), multiline.new("/b.log")
    assert isinstance(first, MultilineDecoder) and isinstance(second, MultilineDecoder)
    assert first.stream is not second.stream  # each holds its own partial records


def test_a_named_parser_needs_a_registry() -> None:
    with pytest.raises(ConfigError, match="parser 'json' given but no parsers are loaded"):
        decoders(parser="json").bind(None, None)
    with pytest.raises(ConfigError, match="docker_mode_parser 'first' given but no parsers"):
        decoders(docker_mode=True, docker_mode_parser="first").bind(None, None)


def test_an_unknown_parser_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="nope"):
        decoders(parser="nope").bind(ParserRegistry.from_sections([]), None)
    with pytest.raises(ConfigError, match="nope"):
        decoders(multiline=["nope"]).bind(ParserRegistry.from_sections([]), MultilineRegistry())
