"""Multiline parsers: built-in ``docker`` and ``cri`` and user ``[MULTILINE_PARSER]`` sections."""

from logtide.agent.parsers.multiline.registry import MultilineRegistry
from logtide.agent.parsers.multiline.spec import MultilineSpec, Rule
from logtide.agent.parsers.multiline.stream import MultilineStream

__all__ = ["MultilineRegistry", "MultilineSpec", "MultilineStream", "Rule"]
