"""Fluent Bit's stream-processor language as a sqlglot dialect.

The grammar follows Fluent Bit's bison grammar (src/stream_processor/parser/sql.y) instead of
ANSI SQL, because the two disagree where it matters: AND/OR have no precedence and associate
to the right, ``NOT`` takes everything on its right, ``WINDOW`` comes before ``WHERE``, and
the trailing ``;`` is part of the statement. The result is an ordinary sqlglot tree
(``exp.Create``, ``exp.Select``, ``exp.EQ``, ``exp.Column``, ``exp.Bracket``, ...) plus the
node types of :mod:`logtide.streamsql.nodes` for what SQL lacks.

It extends sqlglot only the way sqlglot's own dialects (sqlglot/parsers/*.py) do; that is
the extension API this module allows itself:

- The dialect's classes: :class:`FluentBit` names its ``Tokenizer`` (sqlglot's default one,
  ';' aside: in ``SINGLE_TOKENS`` it is the statement's own last token) and its ``Parser``.
- The parser's tables: ``FUNCTION_PARSERS`` (aggregates, TIMESERIES_FORECAST, the scalar
  functions), ``EQUALITY`` and ``COMPARISON`` (operators), and, like PRQL's
  ``TRANSFORM_PARSERS``, one of its own: ``STATEMENTS``. Words are looked up by their ASCII
  text, not their token type, which sqlglot's keyword table also gives to look-alikes such as
  a long s (U+017F) for the S of SELECT. WINDOW, WHERE, GROUP BY and LIMIT are a fixed
  sequence in Fluent Bit, so they are read in order, not through ``QUERY_MODIFIER_PARSERS``
  (whose driver takes sqlglot's clauses in any order).
- Overriding ``_parse_statement``, as the PRQL and DAX parsers do, so that sqlglot's own
  ``Parser.parse`` (through ``Dialect.parse``) drives the grammar.
- The cursor as every built-in dialect's rules use it: reading ``sql``, ``_curr``, ``_next``,
  ``_prev``; moving forward with ``_match``, ``_match_pair``, ``_advance``; ``_is_connected``.
  Nothing assigns parser state (``_tokens``, ``_index``, ``_curr``), replaces ``parse`` or
  moves backwards (``_retreat``): the grammar never backs up.

Errors are :class:`~logtide.streamsql.lexer.SyntaxProblem` (one line, and the offset for the caret)
rather than sqlglot's ``ParseError``, whose message spans lines and carries no offset.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import TokenError
from sqlglot.tokens import TokenType

from logtide.streamsql.lexer import (
    TERMINATOR,
    FluentBitTokenizer,
    SyntaxProblem,
    TokenReader,
    glued,
    open_quote,
    word_of,
)
from logtide.streamsql.nodes import (
    FlushSnapshot,
    Forecast,
    RecordContains,
    RecordTime,
    ScalarFunc,
    StreamSource,
    StreamWindow,
    TagSource,
)

AGGREGATES: dict[str, type[exp.Expression]] = {
    "AVG": exp.Avg,
    "SUM": exp.Sum,
    "COUNT": exp.Count,
    "MIN": exp.Min,
    "MAX": exp.Max,
}
SCALAR_FUNCS = ("NOW", "UNIX_TIMESTAMP", "RECORD_TAG", "RECORD_TIME")
TIME_UNITS = {"SECOND": 1, "MINUTE": 60, "HOUR": 3600}
STATEMENT_WORDS = "CREATE STREAM, CREATE SNAPSHOT, FLUSH SNAPSHOT or SELECT"


class FluentBitParser(TokenReader):
    """Fluent Bit's grammar over sqlglot's token stream (see the module's docstring)."""

    # Each runs after the statement's first word and takes the statement up to its ';'.
    STATEMENTS: ClassVar[dict[str, Any]] = {
        "CREATE": lambda self: self._parse_fb_create(),
        "FLUSH": lambda self: self._parse_fb_flush(),
        "SELECT": lambda self: self._parse_fb_select_body(),
    }
    # As in sqlglot, each runs after 'NAME(' and parses the arguments; the caller takes ')'.
    FUNCTION_PARSERS: ClassVar[dict[str, Any]] = {
        **{
            name: lambda self, node=node: node(this=self._key("a key name"))
            for name, node in AGGREGATES.items()
        },
        "COUNT": lambda self: self._parse_fb_count(),
        "TIMESERIES_FORECAST": lambda self: self._parse_fb_forecast(),
        **{name: lambda self, name=name: ScalarFunc(this=name) for name in SCALAR_FUNCS},
    }
    EQUALITY: ClassVar[dict[TokenType, type[exp.Binary]]] = {
        TokenType.EQ: exp.EQ,
        TokenType.NEQ: exp.NEQ,
    }
    COMPARISON: ClassVar[dict[TokenType, type[exp.Binary]]] = {
        TokenType.LT: exp.LT,
        TokenType.LTE: exp.LTE,
        TokenType.GT: exp.GT,
        TokenType.GTE: exp.GTE,
    }

    # -- statements ----------------------------------------------------------------------

    def _parse_statement(self) -> exp.Expression:
        rule = self.STATEMENTS.get(word_of(self._curr))
        if rule is None:
            return self._fail(STATEMENT_WORDS)
        self._advance()
        statement: exp.Expression = rule(self)
        if self._curr:
            self._fail("nothing after the closing ';'")
        return statement

    def _parse_fb_create(self) -> exp.Expression:
        if self._word("STREAM"):
            name = self._identifier("a stream name")
            properties = self._parse_fb_properties()
            self._expect_word("AS", "WITH or AS" if properties is None else "AS")
            select = self._parse_fb_select()
            return exp.Create(
                this=exp.to_identifier(name),
                kind="STREAM",
                properties=properties,
                expression=select,
            )
        if self._word("SNAPSHOT"):
            name = self._identifier("a snapshot name")
            properties = self._parse_fb_properties()
            self._expect_word("AS", "WITH or AS" if properties is None else "AS")
            select = self._parse_fb_snapshot_select(limit=True)
            return exp.Create(
                this=exp.to_identifier(name),
                kind="SNAPSHOT",
                properties=properties,
                expression=select,
            )
        return self._fail("STREAM or SNAPSHOT")

    def _parse_fb_flush(self) -> FlushSnapshot:
        self._expect_word("SNAPSHOT")
        name = self._identifier("a snapshot name")
        properties = self._parse_fb_properties()
        self._expect_word("AS", "WITH or AS" if properties is None else "AS")
        select = self._parse_fb_snapshot_select(limit=False)
        return FlushSnapshot(this=exp.to_identifier(name), properties=properties, expression=select)

    def _parse_fb_properties(self) -> exp.Properties | None:
        if not self._word("WITH"):
            return None
        self._expect(TokenType.L_PAREN, "'(' after WITH")
        items = []
        while True:
            key = self._identifier("a property name")
            self._expect(TokenType.EQ, "'='")
            value = self._string("a quoted property value")
            items.append(
                exp.Property(this=exp.Literal.string(key), value=exp.Literal.string(value))
            )
            if not self._match(TokenType.COMMA):
                break
        self._expect(TokenType.R_PAREN, "',' or ')'")
        return exp.Properties(expressions=items)

    def _parse_fb_snapshot_select(self, limit: bool) -> exp.Select:
        self._expect_word("SELECT")
        self._expect(TokenType.STAR, "'*' (snapshots keep whole records)")
        self._expect_word("FROM")
        select = exp.Select(expressions=[exp.Star()], from_=exp.From(this=self._parse_fb_source()))
        if limit and self._word("LIMIT"):
            select.set("limit", self._parse_fb_limit())
        elif not limit and self._word("WHERE"):
            select.set("where", exp.Where(this=self._parse_fb_condition()))
        self._expect(TERMINATOR, "LIMIT or ';'" if limit else "WHERE or ';'")
        return select

    def _parse_fb_limit(self) -> exp.Limit:
        token = self._curr
        count = self._integer("a record count after LIMIT")
        limit = exp.Limit(expression=_number(count))
        # A snapshot's size check points here when the count sets no bound.
        limit.meta["offset"] = token.start
        return limit

    def _parse_fb_select(self) -> exp.Select:
        self._expect_word("SELECT")
        return self._parse_fb_select_body()

    def _parse_fb_select_body(self) -> exp.Select:
        keys = [self._parse_fb_select_key()]
        while self._match(TokenType.COMMA):
            keys.append(self._parse_fb_select_key())
        self._expect_word("FROM", "',' or FROM")
        select = exp.Select(expressions=keys, from_=exp.From(this=self._parse_fb_source()))
        # Fluent Bit takes these clauses in this order, each at most once.
        following = ["WINDOW", "WHERE", "GROUP BY", "LIMIT", "';'"]
        if self._word("WINDOW"):
            select.set("fb_window", self._parse_fb_window())
        following.remove("WINDOW")
        if self._word("WHERE"):
            select.set("where", exp.Where(this=self._parse_fb_condition()))
        following.remove("WHERE")
        if self._match(TokenType.GROUP_BY) or self._word("GROUP"):
            select.set("group", self._parse_fb_group())
        following.remove("GROUP BY")
        if self._word("LIMIT"):
            select.set("limit", self._parse_fb_limit())
        following.remove("LIMIT")
        if not self._match(TERMINATOR):
            self._fail(_one_of(following) if self._curr else "';'")
        return select

    def _parse_fb_group(self) -> exp.Group:
        """After ``GROUP BY`` (one sqlglot token) or ``GROUP`` (then BY must follow)."""
        if self._prev.token_type != TokenType.GROUP_BY:
            self._expect_word("BY", "BY after GROUP")
        group = [self._key("a GROUP BY key")]
        while self._match(TokenType.COMMA):
            group.append(self._key("a GROUP BY key"))
        return exp.Group(expressions=group)

    def _parse_fb_select_key(self) -> exp.Expression:
        token = self._curr
        node = self._parse_fb_select_item()
        node.meta["offset"] = token.start if token else len(self.sql)
        return node

    def _parse_fb_select_item(self) -> exp.Expression:
        if self._match(TokenType.STAR):
            return exp.Star()
        word = word_of(self._curr)
        rule = self.FUNCTION_PARSERS.get(word)
        node: exp.Expression
        if rule is not None:
            self._advance()
            self._expect(TokenType.L_PAREN, f"'(' after {word}")
            node = rule(self)
            self._expect(TokenType.R_PAREN, "')'")
        else:
            node = self._key("a key name, '*' or a function")
        if self._word("AS"):
            node = exp.Alias(this=node, alias=exp.to_identifier(self._identifier("an alias")))
        return node

    def _parse_fb_count(self) -> exp.Count:
        if self._match(TokenType.STAR):
            return exp.Count(this=exp.Star())
        return exp.Count(this=self._key("a key name or '*'"))

    def _parse_fb_forecast(self) -> Forecast:
        key = exp.column(self._identifier("a key name"))
        self._expect(TokenType.COMMA, "',' and the forecast horizon in seconds")
        seconds = self._integer("the forecast horizon in seconds")
        return Forecast(this=key, expression=_number(seconds))

    def _parse_fb_source(self) -> exp.Expression:
        kind = word_of(self._curr)
        if (
            kind in ("TAG", "STREAM")
            and glued(self._curr, self._next)
            and self._match_pair(self._curr.token_type, TokenType.COLON)
        ):
            if kind == "TAG":
                return TagSource(this=exp.Literal.string(self._string("a quoted tag pattern")))
            return StreamSource(this=exp.to_identifier(self._identifier("a stream name")))
        return self._fail("TAG:'pattern' or STREAM:name")

    def _parse_fb_window(self) -> StreamWindow:
        if self._word("TUMBLING"):
            kind = "TUMBLING"
        elif self._word("HOPPING"):
            kind = "HOPPING"
        else:
            return self._fail("TUMBLING or HOPPING")
        self._expect(TokenType.L_PAREN, f"'(' after {kind}")
        size = self._duration()
        advance = None
        if kind == "HOPPING":
            self._expect(TokenType.COMMA, "',' ADVANCE BY")
            self._expect_word("ADVANCE", "ADVANCE BY")
            self._expect_word("BY", "ADVANCE BY")
            advance_token = self._curr
            advance = self._duration()
            if advance >= size:
                raise SyntaxProblem(
                    "ADVANCE BY must be shorter than the window size", advance_token.start
                )
        self._expect(TokenType.R_PAREN, "')'")
        return StreamWindow(
            kind=kind,
            size=_number(size),
            advance=_number(advance) if advance is not None else None,
        )

    def _duration(self) -> int:
        token = self._curr
        amount = self._integer("a duration like 5 SECOND")
        if amount <= 0:
            raise SyntaxProblem("a window duration must be positive", token.start)
        unit = word_of(self._curr)
        if unit not in TIME_UNITS:
            self._fail("SECOND, MINUTE or HOUR")
        self._advance()
        return amount * TIME_UNITS[unit]

    # -- conditions ----------------------------------------------------------------------

    def _parse_fb_condition(self) -> exp.Expr:
        """Fluent Bit's condition: no AND/OR precedence, right-associative; NOT takes the rest."""
        if self._word("NOT"):
            return exp.Not(this=self._parse_fb_condition())
        left = self._parse_fb_operand()
        if self._word("AND"):
            return exp.And(this=left, expression=self._parse_fb_condition())
        if self._word("OR"):
            return exp.Or(this=left, expression=self._parse_fb_condition())
        return left

    def _parse_fb_operand(self) -> exp.Expr:
        token = self._curr
        if self._match(TokenType.L_PAREN):
            inner = self._parse_fb_condition()
            self._expect(TokenType.R_PAREN, "AND, OR or ')'")
            return exp.Paren(this=inner)
        if self._match(TokenType.PARAMETER):
            return self._parse_fb_record_function()
        value = self._value()
        if value is not None:
            return value
        if not word_of(token):
            self._fail("a condition: key, comparison, value, @record function, NOT or '('")
        key = self._key("a key name")
        if self._word("IS"):
            negate = self._word("NOT")
            self._expect_word("NULL", "NULL" if negate else "NULL or NOT NULL")
            test: exp.Expression = exp.Is(this=key, expression=exp.Null())
            return exp.Not(this=test) if negate else test
        comparison = self._parse_fb_comparison(key)
        return comparison if comparison is not None else key

    def _parse_fb_comparison(self, left: exp.Expression) -> exp.Expr | None:
        token_type = self._curr.token_type
        node_type = self.EQUALITY.get(token_type) or self.COMPARISON.get(token_type)
        if node_type is None or self._curr.text == "==":
            return None
        self._advance()
        value = self._value()
        if value is None:
            self._fail("a value (number, 'string', true or false)")
        return node_type(this=left, expression=value)

    def _parse_fb_record_function(self) -> exp.Expr:
        """After ``@``: ``record.contains(key)`` or ``record.time()``."""
        at = self._prev
        if not (self._is_connected() and self._word("RECORD")):
            self._fail("@record", at)
        self._expect(TokenType.DOT, "'.' after @record")
        func: exp.Expression
        if self._word("CONTAINS"):
            self._expect(TokenType.L_PAREN, "'(' after contains")
            func = RecordContains(this=self._key("a key name"))
        elif self._word("TIME"):
            self._expect(TokenType.L_PAREN, "'(' after time")
            func = RecordTime()
        else:
            return self._fail("contains(key) or time()")
        self._expect(TokenType.R_PAREN, "')'")
        comparison = self._parse_fb_comparison(func)
        # A bare record function is compared with true, as Fluent Bit's grammar does.
        return comparison if comparison is not None else exp.EQ(this=func, expression=exp.true())


class FluentBit(Dialect):
    """The dialect: ``FluentBit().parse(sql)`` returns the statement's sqlglot tree."""

    Tokenizer = FluentBitTokenizer
    Parser = FluentBitParser


_DIALECT = FluentBit()


def parse(sql: str) -> exp.Expression:
    """Parse one statement; raise :class:`SyntaxProblem` with the offset of the error."""
    try:
        statements = _DIALECT.parse(sql)
    except TokenError:
        raise SyntaxProblem("expected a closing quote for this string", open_quote(sql)) from None
    if not statements:
        # sqlglot's driver stops at a leading ELSE (the end of its IF blocks) before the
        # grammar sees a token: refused here like any other first word.
        first = _DIALECT.tokenize(sql)[0]
        raise SyntaxProblem(f"expected {STATEMENT_WORDS}, got '{first.text}'", first.start)
    statement = statements[0]
    assert isinstance(statement, exp.Expression)
    return statement


def _number(value: int) -> exp.Literal:
    # Not exp.Literal.number: it wraps a negative value in exp.Neg, and plan.py reads the
    # literal's text (LIMIT -1 and a negative forecast horizon are valid Fluent Bit).
    return exp.Literal(this=str(value), is_string=False)


def _one_of(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"
