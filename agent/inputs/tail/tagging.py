"""Per-file tags as Fluent Bit composes them.

``Tag kube.*``: the ``*`` becomes the file path with ``/``, ``\\`` and ``:`` turned into dots
(a leading one dropped, runs of dots collapsed). With ``Tag_Regex``, ``<name>`` in the tag is
replaced by that named group of the regex searched over the path (``_`` when it did not
match).
"""

from __future__ import annotations

import re

from logtide.agent.parsers.rubyre import compile_ruby

_PLACEHOLDER = re.compile(r"<([^<>]*)>")


def path_text(path: str) -> str:
    """``path`` as text a tag or a record can carry: a name that is not UTF-8 (a Linux name
    is bytes, decoded with surrogate escapes) gets U+FFFD for each bad byte, as a line's
    invalid UTF-8 does; no output could encode the escapes."""
    if path.isascii():
        return path
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _sanitize(text: str) -> str:
    out: list[str] = []
    for char in text:
        if char in "/\\:":
            if not out:
                continue
            char = "."
        if char == "." and out and out[-1] == ".":
            continue
        out.append(char)
    return "".join(out)


class TagComposer:
    """Turns a file path into its tag; built once per input instance."""

    def __init__(self, tag: str, tag_regex: str | None) -> None:
        self.tag = tag
        self.regex = compile_ruby(tag_regex) if tag_regex else None
        self._cache: dict[str, str] = {}

    def __call__(self, path: str) -> str:
        tag = self._cache.get(path)
        if tag is None:
            tag = self._cache[path] = self._compose(path)
        return tag

    def _compose(self, path: str) -> str:
        path = path_text(path)
        if self.regex is not None:
            match = self.regex.search(path)
            groups = match.groupdict() if match else {}

            def fill(found: re.Match[str]) -> str:
                value = groups.get(found.group(1))
                return value if value is not None else "_"

            return _PLACEHOLDER.sub(fill, self.tag)
        star = self.tag.find("*")
        if star == -1:
            return self.tag
        return _sanitize(self.tag[:star] + path + self.tag[star + 1 :])

    def forget(self, path: str) -> None:
        self._cache.pop(path, None)
