"""From a parsed sqlglot tree to a checked :class:`Statement`.

The checks are Fluent Bit's own (flb_sp_parser.c, flb_sp.c): ``*`` only first in the SELECT
list, aggregate queries may select plain keys only when they are GROUP BY keys, a snapshot
needs a tag and a size. Output key names follow Fluent Bit: the alias, else the key
(``customer['address']['zip']`` for sub-keys), ``COUNT(*)``, ``AVG(price)``, ``NOW()``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp

from logtide.streamsql.lexer import SyntaxProblem
from logtide.streamsql.nodes import (
    FlushSnapshot,
    Forecast,
    ScalarFunc,
    StreamSource,
    StreamWindow,
    TagSource,
)

_AGGREGATE_NAMES: dict[type[exp.Expression], str] = {
    exp.Avg: "AVG",
    exp.Sum: "SUM",
    exp.Count: "COUNT",
    exp.Min: "MIN",
    exp.Max: "MAX",
}
_BOOL_WORDS = {"true": True, "on": True, "yes": True, "false": False, "off": False, "no": False}


@dataclass(frozen=True, slots=True)
class KeyRef:
    """A record key, optionally with sub-keys: ``customer['address']['zip']``."""

    name: str
    subkeys: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.name + "".join(f"['{sub}']" for sub in self.subkeys)


@dataclass(frozen=True, slots=True)
class SelectKey:
    """One entry of the SELECT list."""

    kind: str  # "star", "key", "aggregate" or "function"
    output: str = ""
    key: KeyRef | None = None
    func: str = ""
    horizon: int = 0
    group_index: int = -1


@dataclass(frozen=True, slots=True)
class Window:
    kind: str  # "TUMBLING" or "HOPPING"
    size: int
    advance: int = 0


@dataclass(slots=True)
class Statement:
    """A checked statement, ready to compile."""

    kind: str  # "stream", "snapshot", "flush" or "select"
    name: str
    source_kind: str  # "tag" or "stream"
    source: str
    keys: tuple[SelectKey, ...]
    properties: dict[str, str] = field(default_factory=dict)
    where: exp.Expression | None = None
    window: Window | None = None
    group_by: tuple[KeyRef, ...] = ()
    limit: int = 0
    aggregate: bool = False

    @property
    def tag(self) -> str:
        """The tag of emitted records: ``WITH (tag=...)``, else the stream's own name."""
        return self.properties.get("tag") or self.stream_name

    @property
    def stream_name(self) -> str:
        return f"__flush_{self.name}" if self.kind == "flush" else self.name

    @property
    def routable(self) -> bool:
        value = self.properties.get("routable")
        return True if value is None else _BOOL_WORDS[value.lower()]

    @property
    def seconds(self) -> int:
        """A snapshot's ``seconds`` property, read like C ``atoi``."""
        text = self.properties.get("seconds", "").lstrip(" \t\n\v\f\r")
        sign = -1 if text.startswith("-") else 1
        digits = text.lstrip("+-")
        count = len(digits) - len(digits.lstrip("0123456789"))
        return sign * int(digits[:count]) if count else 0


def key_ref(node: exp.Expression) -> KeyRef:
    subkeys: list[str] = []
    while isinstance(node, exp.Bracket):
        subkeys.append(node.expressions[0].this)
        node = node.this
    assert isinstance(node, exp.Column)
    return KeyRef(node.name, tuple(reversed(subkeys)))


def plan(tree: exp.Expression) -> Statement:
    """Check a parsed statement and describe it; raise :class:`SyntaxProblem` if invalid."""
    properties: dict[str, str] = {}
    if isinstance(tree, exp.Create):
        kind = "stream" if tree.args["kind"] == "STREAM" else "snapshot"
        name = tree.this.name
        select = tree.expression
        properties = _properties(tree.args.get("properties"))
    elif isinstance(tree, FlushSnapshot):
        kind, name, select = "flush", tree.this.name, tree.expression
        properties = _properties(tree.args.get("properties"))
    else:
        kind, name, select = "select", "", tree
    assert isinstance(select, exp.Select)
    source = select.args["from_"].this
    if isinstance(source, TagSource):
        source_kind, source_name = "tag", source.this.this
    else:
        assert isinstance(source, StreamSource)
        source_kind, source_name = "stream", source.this.name
    window = select.args.get("fb_window")
    group = select.args.get("group")
    limit = select.args.get("limit")
    where = select.args.get("where")
    group_by = tuple(key_ref(node) for node in group.expressions) if group else ()
    keys, aggregate = _select_keys(select.expressions, group_by)
    statement = Statement(
        kind=kind,
        name=name,
        source_kind=source_kind,
        source=source_name,
        keys=keys,
        properties=properties,
        where=where.this if where else None,
        window=_window(window) if isinstance(window, StreamWindow) else None,
        group_by=group_by,
        limit=int(limit.expression.this) if limit else 0,
        aggregate=aggregate,
    )
    _check_properties(statement, limit.meta.get("offset", 0) if limit else 0)
    return statement


def _properties(node: exp.Properties | None) -> dict[str, str]:
    # Fluent Bit looks properties up with strcmp: 'Tag' is not 'tag'. The first one wins.
    found: dict[str, str] = {}
    for prop in node.expressions if node else ():
        found.setdefault(prop.this.this, prop.args["value"].this)
    return found


def _check_properties(statement: Statement, limit_offset: int) -> None:
    routable = statement.properties.get("routable")
    if routable is not None and routable.lower() not in _BOOL_WORDS:
        raise SyntaxProblem(f"routable must be true or false, not '{routable}'", 0)
    if statement.kind == "snapshot":
        if "tag" not in statement.properties:
            raise SyntaxProblem(f"snapshot '{statement.name}' needs a tag: add WITH (tag='...')", 0)
        # Fluent Bit reads a LIMIT or seconds <= 0 as "no bound" and only refuses when both
        # are 0; an unbounded snapshot would hold its records' acknowledgements forever.
        if statement.limit <= 0 and statement.seconds <= 0:
            raise SyntaxProblem(
                f"snapshot '{statement.name}' needs a size: LIMIT n or WITH (seconds='n'), n > 0",
                limit_offset,
            )


def _window(node: StreamWindow) -> Window:
    advance = node.args.get("advance")
    return Window(
        kind=node.args["kind"],
        size=int(node.args["size"].this),
        advance=int(advance.this) if advance is not None else 0,
    )


def _select_keys(
    nodes: list[exp.Expression], group_by: tuple[KeyRef, ...]
) -> tuple[tuple[SelectKey, ...], bool]:
    keys: list[SelectKey] = []
    plain: list[tuple[SelectKey, int]] = []
    aggregates = 0
    for node in nodes:
        offset = node.meta.get("offset", 0) if node.meta else 0
        alias = node.alias if isinstance(node, exp.Alias) else ""
        inner = node.this if isinstance(node, exp.Alias) else node
        if isinstance(inner, exp.Star):
            if keys:
                raise SyntaxProblem("'*' can only be the first entry of the SELECT list", offset)
            key = SelectKey("star")
            plain.append((key, offset))
        elif isinstance(inner, ScalarFunc):
            key = SelectKey("function", alias or f"{inner.this}()", func=inner.this)
        elif isinstance(inner, Forecast):
            ref = key_ref(inner.this)
            key = SelectKey(
                "aggregate",
                alias or f"TIMESERIES_FORECAST({ref.label})",
                key=ref,
                func="TIMESERIES_FORECAST",
                horizon=int(inner.expression.this),
            )
            aggregates += 1
        elif type(inner) in _AGGREGATE_NAMES:
            func = _AGGREGATE_NAMES[type(inner)]
            target = inner.this
            counted = None if isinstance(target, exp.Star) else key_ref(target)
            label = counted.label if counted else "*"
            key = SelectKey("aggregate", alias or f"{func}({label})", key=counted, func=func)
            aggregates += 1
        else:
            ref = key_ref(inner)
            index = group_by.index(ref) if ref in group_by else -1
            key = SelectKey("key", alias or ref.label, key=ref, group_index=index)
            plain.append((key, offset))
        keys.append(key)
    if aggregates:
        for key, offset in plain:
            if key.group_index < 0:
                what = "'*'" if key.kind == "star" else f"'{key.output}'"
                raise SyntaxProblem(
                    f"an aggregate query can only select aggregates and GROUP BY keys, not {what}",
                    offset,
                )
    return tuple(keys), aggregates > 0
