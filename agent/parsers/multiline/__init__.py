"""Multiline parsers: built-in ``docker`` and ``cri`` and user ``[MULTILINE_PARSER]`` sections."""

from agent.parsers.multiline.registry import MultilineRegistry
from agent.parsers.multiline.spec import MultilineSpec, Rule
from agent.parsers.multiline.stream import MultilineStream

__all__ = ["MultilineRegistry", "MultilineSpec", "MultilineStream", "Rule"]
