"""``${VAR}`` and ``${VAR:-default}`` expansion, from ``@SET``/``env`` variables then the
process environment. An undefined variable without a default expands to the empty string,
as in Fluent Bit."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

_VAR_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.]*)(?::-([^}]*))?\}")


def expand(value: str, variables: Mapping[str, str]) -> str:
    if "${" not in value:
        return value

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in variables:
            return variables[name]
        if name in os.environ:
            return os.environ[name]
        return default if default is not None else ""

    return _VAR_RE.sub(substitute, value)
