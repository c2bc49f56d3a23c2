"""Fluent Bit's regular expressions (Onigmo, Ruby syntax) compiled with Python's ``re``.

Fluent Bit hands every ``Regex`` to Onigmo in Ruby syntax, so configs are written for Ruby:
``(?<name>...)`` groups, ``\\h`` for a hex digit, ``\\z`` for the absolute end, POSIX bracket
classes, and ``^``/``$`` that always match at line boundaries. A ``/pattern/imx`` wrapping
selects options, where Ruby's ``m`` means "dot matches newline" (Python's ``re.S``).
"""

from __future__ import annotations

import re

_POSIX_CLASSES = {
    "alpha": "a-zA-Z",
    "digit": "0-9",
    "alnum": "a-zA-Z0-9",
    "upper": "A-Z",
    "lower": "a-z",
    "space": r"\s",
    "blank": r" \t",
    "xdigit": "0-9a-fA-F",
    "word": r"\w",
    "punct": r"!-/:-@\[-`{-~",
    "cntrl": r"\x00-\x1f\x7f",
    "print": r"\x20-\x7e",
    "graph": r"\x21-\x7e",
}
_POSIX_RE = re.compile(r"\[:(\^?)([a-z]+):\]")
_INLINE_FLAGS_RE = re.compile(r"\(\?([imx]*)(?:-([imx]+))?([:)])")


class RegexSyntaxError(ValueError):
    """A pattern that neither Ruby syntax conversion nor Python's ``re`` accepts."""


def split_options(pattern: str) -> tuple[str, int]:
    """Strip a ``/pattern/`` or ``/pattern/opts`` wrapping as Fluent Bit does."""
    flags = 0
    if len(pattern) > 1 and pattern[0] == "/":
        last = pattern.rfind("/")
        if last > 0 and last != len(pattern) - 1:
            options = pattern[last + 1 :]
            mapping = {"m": re.S, "i": re.I, "x": re.X, "o": 0}
            if all(c in mapping for c in options):
                for c in options:
                    flags |= mapping[c]
                return pattern[1:last], flags
            return pattern, 0
        if pattern[-1] == "/":
            return pattern[1:-1], 0
    return pattern, 0


def _convert_inline_flags(match: re.Match[str]) -> str:
    on, off, end = match.group(1), match.group(2) or "", match.group(3)
    on = on.replace("m", "s")
    off = off.replace("m", "s")
    return f"(?{on}{'-' + off if off else ''}{end}"


def ruby_to_python(pattern: str) -> str:
    """Rewrite Ruby-only syntax into the equivalent Python ``re`` syntax."""
    out: list[str] = []
    i = 0
    n = len(pattern)
    in_class = False
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            if nxt == "h":
                out.append("0-9a-fA-F" if in_class else "[0-9a-fA-F]")
            elif nxt == "H":
                out.append("[^0-9a-fA-F]")
            elif nxt == "z" and not in_class:
                out.append(r"\Z")
            elif nxt == "Z" and not in_class:
                out.append(r"(?=\n?\Z)")
            elif nxt == "k" and i + 2 < n and pattern[i + 2] == "<":
                end = pattern.find(">", i + 3)
                if end < 0:
                    raise RegexSyntaxError("unterminated \\k<name> back-reference")
                out.append(f"(?P={pattern[i + 3 : end]})")
                i = end + 1
                continue
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if c == "[" and pattern.startswith("[:", i):
                match = _POSIX_RE.match(pattern, i)
                if match and match.group(2) in _POSIX_CLASSES:
                    if match.group(1):
                        raise RegexSyntaxError(f"negated POSIX class {match.group(0)}")
                    out.append(_POSIX_CLASSES[match.group(2)])
                    i = match.end()
                    continue
            if c == "]" and not (out and out[-1] in ("[", "[^")):
                in_class = False
            out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = True
            if pattern.startswith("[^", i):
                out.append("[^")
                i += 2
            else:
                out.append("[")
                i += 1
            if i < n and pattern[i] == "]":
                out.append("\\]")
                i += 1
            continue
        if c == "(" and pattern.startswith("(?<", i) and i + 3 < n and pattern[i + 3] not in "=!":
            out.append("(?P<")
            i += 3
            continue
        if c == "(" and pattern.startswith("(?", i):
            match = _INLINE_FLAGS_RE.match(pattern, i)
            if match and (match.group(1) or match.group(2)):
                out.append(_convert_inline_flags(match))
                i = match.end()
                continue
        out.append(c)
        i += 1
    return "".join(out)


def compile_ruby(pattern: str, extra_flags: int = 0) -> re.Pattern[str]:
    """Compile a Fluent Bit regular expression.

    ``^``/``$`` always work per line (Ruby semantics) and ``\\d``/``\\w``/``\\s`` are ASCII
    only, as in Onigmo's Ruby syntax.
    """
    body, flags = split_options(pattern)
    try:
        return re.compile(ruby_to_python(body), flags | extra_flags | re.M | re.ASCII)
    except re.error as exc:
        raise RegexSyntaxError(f"invalid regular expression {pattern!r}: {exc}") from None
