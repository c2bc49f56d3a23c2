"""How Fluent Bit's stream processor sees record values, as small runtime helpers.

Compiled queries call these; every rule here mirrors flb_sp.c / flb_sp_key.c:

- A missing key, an array, or any value msgpack cannot turn into an SP value is *absent*
  (``MISSING``): every comparison with it is false, ``IS NULL`` too.
- A JSON ``null`` is NULL: only ``IS NULL`` matches it.
- A map stands for the boolean ``true`` (it "exists").
- When the literal on the right is a number, a string on the left is read as a number
  (``strtoll`` without a dot, ``strtold`` with exactly one) if it parses.
- String ordering is ``strncmp(left, right, len(left))`` on the UTF-8 bytes.
- Float literals in a query are C ``float`` (the lexer stores them in a float), so
  ``price = 42.49`` compares the record against ``42.4900016784668``.
"""

from __future__ import annotations

import ctypes
import math
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING", "__slots__": ()})()

_SPACE = " \t\n\v\f\r"
_INT_PREFIX = re.compile(r"[ \t\n\v\f\r]*([+-]?[0-9]+)")
_FLOAT_PREFIX = re.compile(
    r"[ \t\n\v\f\r]*([+-]?(?:"
    r"0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?"
    r"|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
    r"|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?"
    r"|[nN][aA][nN](?:\([0-9A-Za-z_]*\))?"
    r"))"
)
_INT64 = range(-(2**63), 2**63)
# strtold parses into an 80-bit long double: only beyond its range is ERANGE reported.
_LONG_DOUBLE_MAX_EXP = 4932
_LONG_DOUBLE_MIN_EXP = -4951


def float32(value: float) -> float:
    """Round to a C float, as ``msgpack_pack_float`` and the query lexer do."""
    return ctypes.c_float(value).value


def str_to_number(text: str) -> int | float | None:
    """Fluent Bit's ``string_to_number``: an int, a float, or None when it does not parse."""
    dots = text.count(".")
    if dots > 1:
        return None
    if dots == 0:
        match = _INT_PREFIX.match(text)
        if match is None:
            return None
        value = int(match.group(1))
        return value if value in _INT64 else None
    match = _FLOAT_PREFIX.match(text)
    if match is None:
        return None
    literal = match.group(1)
    body = literal.lstrip("+-").lower()
    if body.startswith("0x"):
        try:
            return float.fromhex(literal)
        except (OverflowError, ValueError):
            return None
    result = float(literal)
    decimal = body[:1].isdigit() or body[:1] == "."
    if decimal and (result == 0.0 or math.isinf(result)):
        return _checked_range(literal, result)
    return result


def _checked_range(literal: str, result: float) -> float | None:
    try:
        exponent = Decimal(literal).adjusted()
    except InvalidOperation:
        return result
    if Decimal(literal) == 0:
        return result
    if exponent > _LONG_DOUBLE_MAX_EXP or exponent < _LONG_DOUBLE_MIN_EXP:
        return None
    return result


def numeric_view(value: Any) -> int | float | None:
    """The left side of a comparison whose right side is a number."""
    kind = type(value)
    if kind is int or kind is float:
        return value
    if kind is str:
        return str_to_number(value)
    return None


def to_number(value: Any) -> int | float | None:
    """``object_to_number`` with string conversion on (``sp.convert_from_str_to_num``)."""
    kind = type(value)
    if kind is int or kind is float:
        return value
    if kind is str and len(value.encode("utf-8", "surrogatepass")) <= 19:
        return str_to_number(value)
    return None


def path(top: Any, subkeys: tuple[str, ...]) -> Any:
    """``key['a']['b']``: a non-map value at the top stands for itself, as in Fluent Bit."""
    if not isinstance(top, dict):
        return top
    current: Any = top
    for subkey in subkeys:
        if not isinstance(current, dict):
            return MISSING
        current = current.get(subkey, MISSING)
        if current is MISSING:
            return MISSING
    return current


def lookup(record: dict[str, Any], name: str, subkeys: tuple[str, ...]) -> Any:
    value = record.get(name, MISSING)
    return path(value, subkeys) if subkeys and value is not MISSING else value


def truthy(value: Any) -> bool:
    """``value_to_bool``: booleans as they are, numbers > 0, strings and maps true."""
    kind = type(value)
    if kind is bool:
        return value
    if kind is int or kind is float:
        return value > 0
    return kind is str or kind is dict


def contains(value: Any) -> Any:
    """``@record.contains(key)``: true when the key holds a value Fluent Bit can read."""
    kind = type(value)
    if value is None or kind in (bool, int, float, str, dict):
        return True
    return MISSING


def is_true(value: Any) -> bool:
    """``= true``: a boolean true, or a map (which Fluent Bit reads as true)."""
    return value is True or type(value) is dict


def _numeric(op: Callable[[Any, Any], bool]) -> Callable[[Any, int | float], bool]:
    def compare(value: Any, literal: int | float) -> bool:
        number = numeric_view(value)
        if number is None:
            return False
        if type(literal) is float and type(number) is int:
            number = float(number)
        return op(number, literal)

    return compare


eq_num = _numeric(lambda a, b: a == b)
lt_num = _numeric(lambda a, b: a < b)
le_num = _numeric(lambda a, b: a <= b)
gt_num = _numeric(lambda a, b: a > b)
ge_num = _numeric(lambda a, b: a >= b)


def strncmp(left: str, right: bytes) -> int:
    """``strncmp(left, right, strlen(left))`` on UTF-8 bytes, stopping at NUL like C."""
    left_bytes = left.encode("utf-8", "surrogatepass")
    a = left_bytes.split(b"\0", 1)[0]
    b = right[: len(left_bytes)].split(b"\0", 1)[0]
    return (a > b) - (a < b)


def _ordered(test: Callable[[int], bool]) -> Callable[[Any, bytes], bool]:
    def compare(value: Any, literal: bytes) -> bool:
        return type(value) is str and test(strncmp(value, literal))

    return compare


lt_str = _ordered(lambda c: c < 0)
le_str = _ordered(lambda c: c <= 0)
gt_str = _ordered(lambda c: c > 0)
ge_str = _ordered(lambda c: c >= 0)

RUNTIME: dict[str, Any] = {
    "_M": MISSING,
    "_path": path,
    "_truthy": truthy,
    "_contains": contains,
    "_is_true": is_true,
    "_eq_num": eq_num,
    "_lt_num": lt_num,
    "_le_num": le_num,
    "_gt_num": gt_num,
    "_ge_num": ge_num,
    "_lt_str": lt_str,
    "_le_str": le_str,
    "_gt_str": gt_str,
    "_ge_str": ge_str,
}
