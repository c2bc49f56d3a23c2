"""The ``tail`` input: options, discovery, reading, checkpoint DB, Docker_Mode, rotation."""

from agent.inputs.tail.input import TailInput

__all__ = ["TailInput"]
