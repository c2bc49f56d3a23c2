"""Compile a statement's WHERE and SELECT list into Python source, once per query.

The generated functions loop over a chunk's events with every key name, literal and operator
fixed at compile time, so evaluating a record is a few dict lookups and comparisons: no tree
is walked per record. The common ``key = 'string'`` / ``key <> 'string'`` tests compile to a
bare ``==`` / ``!=``: a record value equals a string literal only when it is that string,
which is exactly Fluent Bit's rule.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlglot import exp

from logtide.streamsql.nodes import RecordContains, RecordTime
from logtide.streamsql.plan import KeyRef, SelectKey, key_ref
from logtide.streamsql.values import RUNTIME, float32

Event = tuple[float, dict[str, Any]]
Predicate = Callable[[float, dict[str, Any], str], bool]
Projector = Callable[[list[Event], str], list[Event]]

_NUMERIC_OPS: dict[type[exp.Expression], str] = {
    exp.LT: "_lt_num",
    exp.LTE: "_le_num",
    exp.GT: "_gt_num",
    exp.GTE: "_ge_num",
}
_STRING_OPS: dict[type[exp.Expression], str] = {
    exp.LT: "_lt_str",
    exp.LTE: "_le_str",
    exp.GT: "_gt_str",
    exp.GTE: "_ge_str",
}


def now_text() -> str:
    """``NOW()``: local time as ``%Y-%m-%d %H:%M:%S``."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())


def unix_timestamp() -> int:
    return int(time.time())


class Source:
    """Collects generated lines and the constants they refer to by name."""

    def __init__(self) -> None:
        self.namespace: dict[str, Any] = dict(RUNTIME)
        self.namespace["_now_text"] = now_text
        self.namespace["_unix_timestamp"] = unix_timestamp
        self._constants: dict[tuple[type, Any], str] = {}

    def const(self, value: Any) -> str:
        marker = (type(value), value)
        name = self._constants.get(marker)
        if name is None:
            name = f"_c{len(self._constants)}"
            self._constants[marker] = name
            self.namespace[name] = value
        return name

    def build(self, code: str, name: str) -> Any:
        compiled = compile(code, f"<streamsql {name}>", "exec")
        scope = dict(self.namespace)
        exec(compiled, scope)
        return scope[name]


def literal_value(node: exp.Expression) -> bool | int | float | str:
    if isinstance(node, exp.Boolean):
        return bool(node.this)
    assert isinstance(node, exp.Literal)
    if node.is_string:
        return str(node.this)
    text = str(node.this)
    return float32(float(text)) if "." in text else int(text)


def literal_truth(value: bool | int | float | str) -> bool:
    if isinstance(value, str):
        return True
    return value > 0 if not isinstance(value, bool) else value


def value_code(ref: KeyRef, src: Source, record: str = "r") -> str:
    top = f"{record}.get({src.const(ref.name)}, _M)"
    return f"_path({top}, {src.const(ref.subkeys)})" if ref.subkeys else top


def condition_code(node: exp.Expression, src: Source) -> str:
    """A Python boolean expression over ``t`` (timestamp), ``r`` (record) and ``tag``."""
    if isinstance(node, exp.And):
        return f"({condition_code(node.this, src)} and {condition_code(node.expression, src)})"
    if isinstance(node, exp.Or):
        return f"({condition_code(node.this, src)} or {condition_code(node.expression, src)})"
    if isinstance(node, exp.Not):
        return f"(not {condition_code(node.this, src)})"
    if isinstance(node, exp.Paren):
        return condition_code(node.this, src)
    if isinstance(node, exp.Is):
        return f"({value_code(key_ref(node.this), src)} is None)"
    if isinstance(node, exp.Column | exp.Bracket):
        return f"_truthy({value_code(key_ref(node), src)})"
    if isinstance(node, exp.Literal | exp.Boolean):
        return repr(literal_truth(literal_value(node)))
    return _comparison_code(node, src)


def _left_code(node: exp.Expression, src: Source) -> str:
    if isinstance(node, RecordTime):
        return "t"
    if isinstance(node, RecordContains):
        return f"_contains({value_code(key_ref(node.this), src)})"
    return value_code(key_ref(node), src)


def _comparison_code(node: exp.Expression, src: Source) -> str:
    left = _left_code(node.this, src)
    literal = literal_value(node.expression)
    negate = isinstance(node, exp.NEQ)
    if isinstance(node, exp.EQ | exp.NEQ):
        if isinstance(literal, bool):
            test = f"_is_true({left})" if literal else f"({left} is False)"
        elif isinstance(literal, str):
            return f"({left} {'!=' if negate else '=='} {src.const(literal)})"
        else:
            test = f"_eq_num({left}, {src.const(literal)})"
        return f"(not {test})" if negate else test
    if isinstance(literal, bool):
        return "False"  # Fluent Bit orders numbers and strings only.
    if isinstance(literal, str):
        encoded = literal.encode("utf-8", "surrogatepass")
        return f"{_STRING_OPS[type(node)]}({left}, {src.const(encoded)})"
    return f"{_NUMERIC_OPS[type(node)]}({left}, {src.const(literal)})"


def predicate(where: exp.Expression | None, src: Source) -> Predicate | None:
    if where is None:
        return None
    code = f"def _where(t, r, tag):\n    return {condition_code(where, src)}\n"
    return src.build(code, "_where")


def projector(
    where: exp.Expression | None,
    keys: tuple[SelectKey, ...],
    src: Source,
    share_records: bool = False,
) -> Projector:
    """The whole per-chunk loop of a non-aggregate SELECT: filter, project, drop empty.

    ``SELECT *`` copies each record unless ``share_records``: then the results are the
    source's own record dicts, for when nothing downstream changes records in place.
    """
    test = condition_code(where, src) if where is not None else "True"
    if len(keys) == 1 and keys[0].kind == "star":
        record = "r" if share_records else "dict(r)"
        # A record with no keys selects nothing and is dropped, as in Fluent Bit.
        code = (
            "def _run(events, tag):\n"
            f"    return [(t, {record}) for t, r in events if r and {test}]\n"
        )
        return src.build(code, "_run")
    lines = [
        "def _run(events, tag):",
        "    out = []",
        "    add = out.append",
        "    for t, r in events:",
        f"        if not {test}:",
        "            continue",
        "        o = {}",
    ]
    for key in keys:
        lines.extend("        " + line for line in _projection_lines(key, src))
    lines += ["        if o:", "            add((t, o))", "    return out", ""]
    return src.build("\n".join(lines), "_run")


def _projection_lines(key: SelectKey, src: Source) -> list[str]:
    if key.kind == "star":
        return ["o.update(r)"]
    out = src.const(key.output)
    if key.kind == "function":
        value = {
            "RECORD_TAG": "tag",
            "RECORD_TIME": "t",
            "NOW": "_now_text()",
            "UNIX_TIMESTAMP": "_unix_timestamp()",
        }[key.func]
        return [f"o[{out}] = {value}"]
    assert key.key is not None
    return [f"v = {value_code(key.key, src)}", "if v is not _M:", f"    o[{out}] = v"]
