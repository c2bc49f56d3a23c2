"""How Fluent Bit splits multi-word option values (``Set key "a value"``, ``Record k v``)."""

from __future__ import annotations


def split_quoted(line: str) -> list[str]:
    """Space-separated tokens; a token may be wrapped in '...' or "..." to hold spaces, with
    ``\\"`` and ``\\\\`` escapes inside (Fluent Bit's ``flb_utils_split_quoted``).

    Raises ValueError for an unterminated quote.
    """
    tokens: list[str] = []
    i, n = 0, len(line)
    while i < n:
        while i < n and line[i] == " ":
            i += 1
        if i >= n:
            break
        quote = line[i]
        if quote in "'\"":
            i += 1
            out: list[str] = []
            while True:
                if i >= n:
                    raise ValueError(f"unterminated quote in {line!r}")
                c = line[i]
                if c == "\\" and i + 1 < n and line[i + 1] in (quote, "\\"):
                    out.append(line[i + 1])
                    i += 2
                    continue
                if c == quote:
                    i += 1
                    break
                out.append(c)
                i += 1
            tokens.append("".join(out))
        else:
            start = i
            while i < n and line[i] != " ":
                i += 1
            tokens.append(line[start:i])
    return tokens
