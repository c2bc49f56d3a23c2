"""The lexical layer of Fluent Bit's stream-processor language: its tokenizer, its reserved
words, and a sqlglot ``Parser`` base with the token-level rules (words, identifiers,
strings, numbers, values) that the statement grammar in :mod:`logtide.streamsql.dialect` builds on.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from sqlglot import exp
from sqlglot.parser import Parser
from sqlglot.tokens import Token, Tokenizer, TokenType


class SyntaxProblem(Exception):
    """A statement that does not follow the grammar: what was expected, and where."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


# Single words that Fluent Bit's lexer turns into keywords: they cannot name a key.
RESERVED = frozenset(
    {
        "CREATE", "FLUSH", "STREAM", "SNAPSHOT", "WITH", "SELECT", "AS", "FROM", "WHERE",
        "AND", "OR", "NOT", "WINDOW", "LIMIT", "IS", "NULL", "SUM", "AVG", "COUNT", "MIN",
        "MAX", "TIMESERIES_FORECAST", "CONTAINS", "TIME", "TUMBLING", "HOPPING", "HOUR",
        "MINUTE", "SECOND", "NOW", "UNIX_TIMESTAMP", "RECORD_TAG", "RECORD_TIME", "TRUE",
        "FALSE",
    }
)  # fmt: skip

# sqlglot's driver splits the token list on SEMICOLON and drops it, but Fluent Bit's ';' is
# the last token of its one statement (a missing or doubled ';' is an error with a place), so
# ';' gets a token type that the grammar matches like any other and no sqlglot table uses.
TERMINATOR = TokenType.BREAK

_IDENTIFIER = re.compile(r"[_A-Za-z][A-Za-z0-9_.]*")
_WORD = re.compile(r"[_A-Za-z][A-Za-z0-9_]*")
# Fluent Bit's sql.l: a minus sign only before a non-zero leading digit ("-0", "-0.5" are not
# numbers there).
_INTEGER = re.compile(r"(?:-?[1-9][0-9]*|0)\Z")
_FLOAT = re.compile(r"(?:-?[1-9][0-9]*|0)\.[0-9]+\Z")
_INT32 = range(-(2**31), 2**31)


class FluentBitTokenizer(Tokenizer):
    """sqlglot's tokenizer, with ';' as the statement's own last token (:data:`TERMINATOR`).

    Everything else is sqlglot's default lexing, which the grammar reads by text: words
    (keywords or not) through :func:`word_of`, strings, numbers and operators by token type.
    """

    SINGLE_TOKENS: ClassVar[dict[str, TokenType]] = {**Tokenizer.SINGLE_TOKENS, ";": TERMINATOR}
    # A command word right after ';' keeps the rest as raw text, as it does after SEMICOLON.
    COMMAND_PREFIX_TOKENS: ClassVar[set[TokenType]] = {TERMINATOR, TokenType.BEGIN}


class TokenReader(Parser):
    """Token-level rules shared by the statement grammar (see :mod:`logtide.streamsql.dialect` for
    the part of sqlglot's ``Parser`` they use)."""

    # -- token helpers -------------------------------------------------------------------

    def _fail(self, expected: str, token: Token | None = None) -> Any:
        token = token or self._curr
        if token:
            raise SyntaxProblem(f"expected {expected}, got '{token.text}'", token.start)
        raise SyntaxProblem(f"expected {expected}, got the end of the query", len(self.sql))

    def _word(self, word: str) -> bool:
        # Not _match_text_seq: that upper-cases any letter (a long s, U+017F, becomes S), where
        # Fluent Bit's keywords are ASCII words.
        if word_of(self._curr) == word:
            self._advance()
            return True
        return False

    def _expect_word(self, word: str, expected: str | None = None) -> None:
        if not self._word(word):
            self._fail(expected or word)

    def _expect(self, token_type: TokenType, expected: str) -> Token:
        if not self._match(token_type):
            self._fail(expected)
        return self._prev

    # -- lexemes -------------------------------------------------------------------------

    def _identifier(self, what: str) -> str:
        """A Fluent Bit identifier: ``[_A-Za-z][A-Za-z0-9_.]*`` (dots included, ``tail.0``)."""
        token = self._curr
        match = _IDENTIFIER.match(self.sql, token.start) if word_of(token) else None
        if match is None:
            self._fail(what)
        assert match is not None
        # The identifier spans several sqlglot tokens (tail . 0): step over exactly those.
        while self._curr and self._curr.start < match.end():
            if self._curr.end >= match.end():
                if self._curr.end + 1 != match.end():
                    self._fail(what, self._curr)
                self._advance()
                break
            self._advance()
        text = match.group()
        if text.upper() in RESERVED:
            raise SyntaxProblem(f"expected {what}, got the reserved word '{text}'", token.start)
        return text

    def _key(self, what: str = "a key name") -> exp.Expression:
        """``name`` or ``name['sub']['subsub']``: a column, wrapped in one bracket per level."""
        start = self._curr.start if self._curr else len(self.sql)
        node: exp.Expression = exp.column(self._identifier(what))
        while self._match(TokenType.L_BRACKET):
            sub = self._string("a quoted sub-key like ['name']")
            self._expect(TokenType.R_BRACKET, "']'")
            node = exp.Bracket(this=node, expressions=[exp.Literal.string(sub)])
        node.meta["offset"] = start
        return node

    def _string(self, what: str) -> str:
        return self._expect(TokenType.STRING, what).text

    def _number_text(self) -> tuple[str, Token] | None:
        token = self._curr
        if self._match(TokenType.NUMBER):
            return token.text, token
        if glued(token, self._next) and self._match_pair(TokenType.DASH, TokenType.NUMBER):
            digits = self._prev.text
            if digits.startswith("0") and (_INTEGER.match(digits) or _FLOAT.match(digits)):
                # Fluent Bit's lexer logs the '-' as a bad character, skips it and goes on
                # with the positive number: a silent change of meaning, refused here.
                raise SyntaxProblem(
                    f"'-{digits}' is not a number in Fluent Bit (it drops the '-' and reads"
                    f" {digits})",
                    token.start,
                )
            return "-" + digits, token
        return None

    def _integer(self, what: str) -> int:
        found = self._number_text()
        if found is None or not _INTEGER.match(found[0]):
            self._fail(what, found[1] if found else None)
        assert found is not None
        value = int(found[0])
        if value not in _INT32:
            raise SyntaxProblem(f"integer {found[0]} is out of range (32 bits)", found[1].start)
        return value

    def _value(self) -> exp.Expression | None:
        """A literal: integer, float, 'string', true or false; None if there is none here."""
        token = self._curr
        if self._match(TokenType.STRING):
            return exp.Literal.string(token.text)
        if self._word("TRUE"):
            return exp.Boolean(this=True)
        if self._word("FALSE"):
            return exp.Boolean(this=False)
        found = self._number_text()
        if found is None:
            return None
        text, first = found
        if _INTEGER.match(text):
            if int(text) not in _INT32:
                raise SyntaxProblem(f"integer {text} is out of range (32 bits)", first.start)
            return exp.Literal(this=text, is_string=False)
        if _FLOAT.match(text):
            return exp.Literal(this=text, is_string=False)
        return self._fail("a number like 5, -5 or 5.5", first)


def word_of(token: Token | None) -> str:
    """The upper-cased text of a word token (keyword or name), or '' for anything else."""
    if not token or token.token_type == TokenType.STRING or not _WORD.fullmatch(token.text):
        return ""
    return token.text.upper()


def glued(first: Token, second: Token | None) -> bool:
    """Whether ``second`` starts right where ``first`` ends (``TAG:``, ``-5``)."""
    return second is not None and bool(second) and first.end + 1 == second.start


def open_quote(sql: str) -> int:
    inside = -1
    index = 0
    while index < len(sql):
        if sql[index] == "'":
            if inside < 0:
                inside = index
            elif index + 1 < len(sql) and sql[index + 1] == "'":
                index += 1
            else:
                inside = -1
        index += 1
    return inside if inside >= 0 else len(sql)
