"""``${VAR}`` and ``${VAR:-default}`` expansion, from ``@SET``/``env`` variables then the
process environment. An undefined variable without a default expands to the empty string,
as in Fluent Bit."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

_VAR_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.]*)(?::-([^}]*))?\}")


def expand(value: str, variables: Mapping[str, str], *, keep_undefined: bool = False) -> str:
    """Expand variables; ``keep_undefined`` leaves ``${name}`` with no value or default as
    written, for options whose own syntax uses it (``${field}`` in ``s3_key_format``)."""
    if "${" not in value:
        return value

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in variables:
            return variables[name]
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        return match.group(0) if keep_undefined else ""

    return _VAR_RE.sub(substitute, value)


def entry_values(value: str, variables: Mapping[str, str]) -> tuple[str, str | None]:
    """The expanded value, and the form with undefined variables kept when it differs."""
    expanded = expand(value, variables)
    kept = expand(value, variables, keep_undefined=True)
    return expanded, (kept if kept != expanded else None)
