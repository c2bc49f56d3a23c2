"""Fluent Bit's stream-processor language as a sqlglot dialect.

The tokenizer is sqlglot's, narrowed to Fluent Bit's lexemes (no comments, ``''`` as the only
string escape, ``<>``/``!=`` both meaning not-equal). The parser is a sqlglot ``Parser`` whose
statement rule follows Fluent Bit's bison grammar instead of ANSI SQL, because the two
disagree where it matters: AND/OR have no precedence and associate to the right, ``NOT``
takes everything on its right, ``WINDOW`` comes before ``WHERE``, and the trailing ``;`` is
part of the statement. The result is an ordinary sqlglot tree (``exp.Create``, ``exp.Select``,
``exp.EQ``, ``exp.Column``, ``exp.Bracket``, ...) plus a few node types for what SQL lacks.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

from streamsql.lexer import (
    FluentBitTokenizer,
    SyntaxProblem,
    TokenReader,
    open_quote,
    word_of,
)
from streamsql.nodes import (
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
SCALAR_FUNCS = frozenset({"NOW", "UNIX_TIMESTAMP", "RECORD_TAG", "RECORD_TIME"})
TIME_UNITS = {"SECOND": 1, "MINUTE": 60, "HOUR": 3600}
COMPARISONS: dict[TokenType, type[exp.Expression]] = {
    TokenType.EQ: exp.EQ,
    TokenType.NEQ: exp.NEQ,
    TokenType.LT: exp.LT,
    TokenType.LTE: exp.LTE,
    TokenType.GT: exp.GT,
    TokenType.GTE: exp.GTE,
}


class FluentBitParser(TokenReader):
    """Fluent Bit's grammar (src/stream_processor/parser/sql.y) over sqlglot's token stream."""

    def parse(self, raw_tokens: list[Token], sql: str) -> list[exp.Expr | None]:
        # sqlglot's own driver splits statements on ';', but here ';' belongs to the grammar.
        self.reset()
        self.sql = sql
        self._tokens = raw_tokens
        self._tokens_size = len(raw_tokens)
        self._index = -1
        self._advance()
        statement = self._statement()
        if self._curr:
            self._fail("nothing after the closing ';'")
        return [statement]

    # -- statements ----------------------------------------------------------------------

    def _statement(self) -> exp.Expression:
        if self._word("CREATE"):
            if self._word("STREAM"):
                name = self._identifier("a stream name")
                properties = self._properties()
                self._expect_word("AS", "WITH or AS" if properties is None else "AS")
                select = self._select()
                return exp.Create(
                    this=exp.to_identifier(name),
                    kind="STREAM",
                    properties=properties,
                    expression=select,
                )
            if self._word("SNAPSHOT"):
                name = self._identifier("a snapshot name")
                properties = self._properties()
                self._expect_word("AS", "WITH or AS" if properties is None else "AS")
                select = self._snapshot_select(limit=True)
                return exp.Create(
                    this=exp.to_identifier(name),
                    kind="SNAPSHOT",
                    properties=properties,
                    expression=select,
                )
            return self._fail("STREAM or SNAPSHOT")
        if self._word("FLUSH"):
            self._expect_word("SNAPSHOT")
            name = self._identifier("a snapshot name")
            properties = self._properties()
            self._expect_word("AS", "WITH or AS" if properties is None else "AS")
            select = self._snapshot_select(limit=False)
            return FlushSnapshot(
                this=exp.to_identifier(name), properties=properties, expression=select
            )
        if self._is_word("SELECT"):
            return self._select()
        return self._fail("CREATE STREAM, CREATE SNAPSHOT, FLUSH SNAPSHOT or SELECT")

    def _properties(self) -> exp.Properties | None:
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

    def _snapshot_select(self, limit: bool) -> exp.Select:
        self._expect_word("SELECT")
        self._expect(TokenType.STAR, "'*' (snapshots keep whole records)")
        self._expect_word("FROM")
        select = exp.Select(expressions=[exp.Star()], from_=exp.From(this=self._source()))
        if limit and self._word("LIMIT"):
            select.set("limit", exp.Limit(expression=exp.Literal.number(self._limit())))
        elif not limit and self._word("WHERE"):
            select.set("where", exp.Where(this=self._condition()))
        self._expect(TokenType.SEMICOLON, "LIMIT or ';'" if limit else "WHERE or ';'")
        return select

    def _limit(self) -> int:
        return self._integer("a record count after LIMIT")

    def _select(self) -> exp.Select:
        self._expect_word("SELECT")
        keys = [self._select_key()]
        while self._match(TokenType.COMMA):
            keys.append(self._select_key())
        self._expect_word("FROM", "',' or FROM")
        select = exp.Select(expressions=keys, from_=exp.From(this=self._source()))
        following = ["WINDOW", "WHERE", "GROUP BY", "LIMIT", "';'"]
        if self._word("WINDOW"):
            select.set("fb_window", self._window())
        following.remove("WINDOW")
        if self._word("WHERE"):
            select.set("where", exp.Where(this=self._condition()))
        following.remove("WHERE")
        if self._match(TokenType.GROUP_BY) or self._word("GROUP"):
            if self._prev.token_type != TokenType.GROUP_BY:
                self._expect_word("BY", "BY after GROUP")
            group = [self._key("a GROUP BY key")]
            while self._match(TokenType.COMMA):
                group.append(self._key("a GROUP BY key"))
            select.set("group", exp.Group(expressions=group))
        following.remove("GROUP BY")
        if self._word("LIMIT"):
            select.set("limit", exp.Limit(expression=exp.Literal.number(self._limit())))
        following.remove("LIMIT")
        if not self._match(TokenType.SEMICOLON):
            self._fail(_one_of(following) if self._curr else "';'")
        return select

    def _select_key(self) -> exp.Expression:
        token = self._curr
        node = self._select_item()
        node.meta["offset"] = token.start if token else len(self.sql)
        return node

    def _select_item(self) -> exp.Expression:
        token = self._curr
        if self._match(TokenType.STAR):
            return exp.Star()
        word = word_of(token)
        node: exp.Expression
        if word in AGGREGATES or word == "TIMESERIES_FORECAST" or word in SCALAR_FUNCS:
            self._advance()
            self._expect(TokenType.L_PAREN, f"'(' after {word}")
            if word in SCALAR_FUNCS:
                node = ScalarFunc(this=word)
            elif word == "TIMESERIES_FORECAST":
                key = exp.column(self._identifier("a key name"))
                self._expect(TokenType.COMMA, "',' and the forecast horizon in seconds")
                seconds = self._integer("the forecast horizon in seconds")
                node = Forecast(this=key, expression=exp.Literal.number(seconds))
            elif word == "COUNT" and self._match(TokenType.STAR):
                node = exp.Count(this=exp.Star())
            else:
                node = AGGREGATES[word](
                    this=self._key("a key name or '*'" if word == "COUNT" else "a key name")
                )
            self._expect(TokenType.R_PAREN, "')'")
        else:
            node = self._key("a key name, '*' or a function")
        if self._word("AS"):
            node = exp.Alias(this=node, alias=exp.to_identifier(self._identifier("an alias")))
        return node

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

    def _source(self) -> exp.Expression:
        token = self._curr
        if word_of(token) and self._glued(token, self._next):
            kind = word_of(token)
            if kind in ("TAG", "STREAM") and self._next.token_type == TokenType.COLON:
                self._advance(2)
                if kind == "TAG":
                    return TagSource(this=exp.Literal.string(self._string("a quoted tag pattern")))
                return StreamSource(this=exp.to_identifier(self._identifier("a stream name")))
        return self._fail("TAG:'pattern' or STREAM:name")

    def _window(self) -> StreamWindow:
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
            size=exp.Literal.number(size),
            advance=exp.Literal.number(advance) if advance is not None else None,
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

    def _condition(self) -> exp.Expression:
        """Fluent Bit's condition: no AND/OR precedence, right-associative; NOT takes the rest."""
        if self._word("NOT"):
            return exp.Not(this=self._condition())
        left = self._operand()
        if self._word("AND"):
            return exp.And(this=left, expression=self._condition())
        if self._word("OR"):
            return exp.Or(this=left, expression=self._condition())
        return left

    def _operand(self) -> exp.Expression:
        token = self._curr
        if self._match(TokenType.L_PAREN):
            inner = self._condition()
            self._expect(TokenType.R_PAREN, "AND, OR or ')'")
            return exp.Paren(this=inner)
        if token and token.token_type == TokenType.PARAMETER:
            return self._record_function()
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
        comparison = self._comparison(key)
        return comparison if comparison is not None else key

    def _comparison(self, left: exp.Expression) -> exp.Expression | None:
        token = self._curr
        node_type = COMPARISONS.get(token.token_type) if token else None
        if node_type is None or token.text == "==":
            return None
        self._advance()
        value = self._value()
        if value is None:
            self._fail("a value (number, 'string', true or false)")
        return node_type(this=left, expression=value)

    def _record_function(self) -> exp.Expression:
        at = self._curr
        self._advance()
        if not (self._glued(at, self._curr) and self._word("RECORD")):
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
        comparison = self._comparison(func)
        # A bare record function is compared with true, as Fluent Bit's grammar does.
        return comparison if comparison is not None else exp.EQ(this=func, expression=exp.true())


class FluentBit(Dialect):
    """The dialect: ``FluentBit().parse(sql)`` returns one sqlglot tree per statement."""

    tokenizer_class = FluentBitTokenizer
    parser_class = FluentBitParser  # type: ignore[assignment]


def parse(sql: str) -> exp.Expression:
    """Parse one statement; raise :class:`SyntaxProblem` with the offset of the error."""
    dialect = FluentBit()
    try:
        tokens = dialect.tokenize(sql)
    except TokenError:
        raise SyntaxProblem("expected a closing quote for this string", open_quote(sql)) from None
    statement = dialect.parser().parse(tokens, sql)[0]
    assert isinstance(statement, exp.Expression)
    return statement


def _one_of(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"
