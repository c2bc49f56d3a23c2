"""Log levels beyond the standard library's: ``trace`` (``-vv``, ``Log_Level trace``), below
debug, for lines written per chunk that even a debugging session rarely wants."""

from __future__ import annotations

import logging

TRACE = 5

logging.addLevelName(TRACE, "TRACE")
