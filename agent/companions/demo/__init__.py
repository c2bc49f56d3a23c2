"""``logtide demo``: the article's whole story on one machine
(see :mod:`logtide.agent.companions.demo.run`).

moto (the embedded AWS) is the ``logtide[demo]`` extra; it is imported only when the demo
runs, never by the agent itself.
"""

from __future__ import annotations

import sys

from logtide.agent.companions.demo.run import parse, run


def main(argv: list[str]) -> int:
    return run(parse(argv), sys.stdout)
