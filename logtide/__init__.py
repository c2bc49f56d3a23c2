"""logtide: a pure-Python, Fluent Bit-compatible log shipper.

The library face is :class:`Pipeline` (see ``docs/library.md``). Everything logtide installs
lives under this one name: ``logtide.agent`` (the daemon: config, engine, inputs, filters,
parsers), ``logtide.sinks`` (outputs) and ``logtide.streamsql`` (stream-processor SQL). The
repository keeps them as the top-level folders ``agent/``, ``sinks/`` and ``streamsql/``;
``logtide/`` links them in, so a source checkout, an editable install and the wheel all import
the same names (see ``docs/architecture.md``).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

# pip refuses to install on an older Python (requires-python); this covers a source checkout
# run directly, which would otherwise fail later on some 3.11-only module or syntax.
if sys.version_info < (3, 11):  # noqa: UP036
    raise ImportError(f"logtide needs Python 3.11 or newer; this is {sys.version.split()[0]}")

if TYPE_CHECKING:
    from logtide.agent.api import Capture, Pipeline, RunningPipeline
    from logtide.agent.core.errors import ConfigError, LogtideError

__all__ = ["Capture", "ConfigError", "LogtideError", "Pipeline", "RunningPipeline"]


def __getattr__(name: str) -> Any:
    # Lazy, so `import logtide.agent.core` (what sinks and streamsql use) does not load the engine.
    if name in ("Capture", "Pipeline", "RunningPipeline"):
        from logtide.agent import api

        return getattr(api, name)
    if name in ("ConfigError", "LogtideError"):
        from logtide.agent.core import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'logtide' has no attribute {name!r}")
