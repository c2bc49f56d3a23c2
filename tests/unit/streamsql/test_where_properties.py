"""Random WHERE trees over random records agree with a plain reference evaluator.

The reference is written from Fluent Bit's C (reduce_expression, numerical_comp,
value_to_bool, flb_sp_key_to_value) as a direct tree walk, independently of streamsql.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from logtide import streamsql
from logtide.streamsql.values import float32

KEYS = ["k0", "k1", "k2"]
ABSENT = object()
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([-1.5, 0.0, 0.5, 2.5]),
    st.sampled_from(["", "a", "ab", "b", "1", "2.5", " 3", "-2", "1x", "1.5.5", "2"]),
)
VALUES = st.one_of(SCALARS, st.dictionaries(st.sampled_from(["x", "y"]), SCALARS, max_size=2),
                   st.lists(SCALARS, max_size=2))  # fmt: skip
RECORDS = st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=3)
LITERALS = st.one_of(
    st.integers(-3, 3),
    st.sampled_from([-1.5, 0.5, 2.5, 0.1]),
    st.sampled_from(["", "a", "ab", "1", "2.5", "b"]),
    st.booleans(),
)
KEY_REFS = st.one_of(
    st.sampled_from(KEYS).map(lambda k: (k,)),
    st.tuples(st.sampled_from(KEYS), st.sampled_from(["x", "y"])),
)
OPS = ["=", "!=", "<>", "<", "<=", ">", ">="]


def leaves() -> st.SearchStrategy[tuple[Any, ...]]:
    return st.one_of(
        st.tuples(st.just("cmp"), KEY_REFS, st.sampled_from(OPS), LITERALS),
        st.tuples(st.just("null"), KEY_REFS, st.booleans()),
        st.tuples(st.just("key"), KEY_REFS),
        st.tuples(st.just("lit"), LITERALS),
        st.tuples(st.just("contains"), KEY_REFS),
    )


TREES = st.recursive(
    leaves(),
    lambda inner: st.one_of(
        st.tuples(st.sampled_from(["AND", "OR"]), inner, inner),
        st.tuples(st.just("NOT"), inner),
        st.tuples(st.just("PAREN"), inner),
    ),
    max_leaves=6,
)


def sql_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


def sql_key(ref: tuple[str, ...]) -> str:
    return ref[0] + "".join(f"['{s}']" for s in ref[1:])


def render(tree: tuple[Any, ...]) -> str:
    kind = tree[0]
    if kind in ("AND", "OR"):
        left = render(tree[1])
        if tree[1][0] in ("AND", "OR", "NOT"):
            left = f"({left})"
        return f"{left} {kind} {render(tree[2])}"
    if kind == "NOT":
        return f"NOT {render(tree[1])}"
    if kind == "PAREN":
        return f"({render(tree[1])})"
    if kind == "cmp":
        return f"{sql_key(tree[1])} {tree[2]} {sql_literal(tree[3])}"
    if kind == "null":
        return f"{sql_key(tree[1])} IS {'NOT ' if tree[2] else ''}NULL"
    if kind == "key":
        return sql_key(tree[1])
    if kind == "lit":
        return sql_literal(tree[1])
    return f"@record.contains({sql_key(tree[1])})"


# -- reference ------------------------------------------------------------------------------


def parse_int_prefix(text: str) -> int | None:
    i = 0
    while i < len(text) and text[i] in " \t\n\v\f\r":
        i += 1
    j = i + (1 if i < len(text) and text[i] in "+-" else 0)
    k = j
    while k < len(text) and text[k].isdigit():
        k += 1
    return int(text[i:k]) if k > j else None


def parse_float_prefix(text: str) -> float | None:
    stripped = text.lstrip(" \t\n\v\f\r")
    for end in range(len(stripped), 0, -1):
        try:
            return float(stripped[:end])
        except ValueError:
            continue
    return None


def string_to_number(text: str) -> int | float | None:
    dots = text.count(".")
    if dots > 1:
        return None
    return parse_float_prefix(text) if dots == 1 else parse_int_prefix(text)


def sp_value(record: dict[str, Any], ref: tuple[str, ...]) -> Any:
    """(type, value), or None for Fluent Bit's NULL pointer (missing / unreadable)."""
    if ref[0] not in record:
        return None
    value = record[ref[0]]
    if len(ref) > 1 and isinstance(value, dict):
        if ref[1] not in value:
            return None
        value = value[ref[1]]
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int):
        return ("int", value)
    if isinstance(value, float):
        return ("float", value)
    if isinstance(value, str):
        return ("str", value)
    if isinstance(value, dict):
        return ("bool", True)
    if value is None:
        return ("null", None)
    return None


def literal(value: Any) -> tuple[str, Any]:
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int):
        return ("int", value)
    if isinstance(value, float):
        return ("float", float32(value))
    return ("str", value)


def compare(left: Any, right: tuple[str, Any], op: str) -> bool:
    if left is None:
        return False
    ltype, lval = left
    rtype, rval = right
    if ltype == "str" and rtype != "str":
        number = string_to_number(lval)
        if number is not None:
            ltype, lval = ("int" if isinstance(number, int) else "float"), number
    if ltype == "int" and rtype == "float":
        ltype, lval = "float", float(lval)
    elif ltype == "float" and rtype == "int":
        rtype, rval = "float", float(rval)
    if ltype != rtype:
        return False
    if op == "=":
        return ltype == "null" or lval == rval
    if ltype in ("int", "float"):
        return {"<": lval < rval, "<=": lval <= rval, ">": lval > rval, ">=": lval >= rval}[op]
    if ltype == "str":
        a = lval.encode()
        b = rval.encode()[: len(a)]
        c = (a > b) - (a < b)
        return {"<": c < 0, "<=": c <= 0, ">": c > 0, ">=": c >= 0}[op]
    return False


def truth(value: Any) -> bool:
    if value is None:
        return False
    kind, val = value
    if kind == "bool":
        return bool(val)
    if kind in ("int", "float"):
        return val > 0
    return kind == "str"


def evaluate(tree: tuple[Any, ...], record: dict[str, Any]) -> bool:
    kind = tree[0]
    if kind == "AND":
        return evaluate(tree[1], record) and evaluate(tree[2], record)
    if kind == "OR":
        return evaluate(tree[1], record) or evaluate(tree[2], record)
    if kind == "NOT":
        return not evaluate(tree[1], record)
    if kind == "PAREN":
        return evaluate(tree[1], record)
    if kind == "cmp":
        _, ref, op, lit = tree
        if op in ("!=", "<>"):
            return not compare(sp_value(record, ref), literal(lit), "=")
        return compare(sp_value(record, ref), literal(lit), op)
    if kind == "null":
        is_null = compare(sp_value(record, tree[1]), ("null", None), "=")
        return not is_null if tree[2] else is_null
    if kind == "key":
        return truth(sp_value(record, tree[1]))
    if kind == "lit":
        return truth(literal(tree[1]))
    return sp_value(record, tree[1]) is not None


@settings(max_examples=300, deadline=None)
@given(TREES, st.lists(RECORDS, max_size=8))
def test_compiled_where_equals_reference(
    tree: tuple[Any, ...], records: list[dict[str, Any]]
) -> None:
    where = render(tree)
    query = streamsql.compile(f"SELECT * FROM TAG:'t' WHERE {where};")
    events = [(1.0, dict(record, id=i)) for i, record in enumerate(records)]
    got = [r["id"] for _, r in query.process("t", events)]
    assert got == [r["id"] for _, r in events if evaluate(tree, r)], where
